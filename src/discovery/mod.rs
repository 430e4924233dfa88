//! Service discovery, as Prometheus's `discovery.Manager`: providers (one per distinct
//! discovery config, shared by every set that uses it) send target groups; the manager
//! keeps the latest groups per set and provider and publishes the full state of all sets,
//! coalescing bursts of updates.
//!
//! Mechanisms run: `static_configs`, `file_sd_configs`, `http_sd_configs` and
//! `dns_sd_configs`. The others parse (ember-config) but are not run; they are logged and
//! reported by [`DiscoveryManager::unsupported`].

mod dns;
pub(crate) mod file;
mod http;
mod metrics;
mod targetgroup;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use ember_config::discovery::{DnsSdConfig, FileSdConfig, HttpSdConfig};
use ember_config::ServiceDiscoveryConfigs;
use parking_lot::Mutex;
use tokio::sync::{watch, Notify};

pub use targetgroup::TargetGroup;

use metrics::{ManagerMetrics, MechanismMetrics};

/// Set name → its target groups.
pub type TargetSets = BTreeMap<String, Vec<TargetGroup>>;

/// Prometheus's `updatert`: the longest wait between two published states while
/// updates keep coming.
const UPDATERT: Duration = Duration::from_secs(5);
/// The first wait of the coalescing back-off.
const INITIAL_BACKOFF: Duration = Duration::from_millis(100);

/// The discovery configuration a provider runs; equal configs share one provider.
#[derive(Debug, Clone, PartialEq)]
enum ProviderConfig {
    Static(Vec<ember_config::TargetGroup>),
    File(FileSdConfig),
    Http(Box<HttpSdConfig>),
    Dns(DnsSdConfig),
}

impl ProviderConfig {
    fn mechanism(&self) -> &'static str {
        match self {
            ProviderConfig::Static(_) => "static",
            ProviderConfig::File(_) => "file",
            ProviderConfig::Http(_) => "http",
            ProviderConfig::Dns(_) => "dns",
        }
    }
}

struct Provider {
    /// `file/3`: mechanism and a number unique over the manager's life.
    name: String,
    config: ProviderConfig,
    /// The sets using this provider.
    subs: BTreeSet<String>,
    /// The sets using it after the apply in progress.
    new_subs: BTreeSet<String>,
    task: Option<tokio::task::JoinHandle<()>>,
}

struct State {
    providers: Vec<Provider>,
    /// (set, provider name) → source → group; groups without targets are not kept.
    targets: BTreeMap<(String, String), BTreeMap<String, TargetGroup>>,
    unsupported: BTreeMap<String, Vec<&'static str>>,
    /// Sets removed by the last apply, published once with no groups.
    removed: BTreeSet<String>,
    last_provider: u64,
    stopped: bool,
}

struct Shared {
    name: &'static str,
    state: Mutex<State>,
    trigger: Notify,
    tx: watch::Sender<Arc<TargetSets>>,
    metrics: ManagerMetrics,
    mechanisms: Arc<MechanismMetrics>,
}

/// Runs the discovery providers of every target set and publishes their targets.
pub struct DiscoveryManager {
    shared: Arc<Shared>,
    updatert: Duration,
    sender: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

/// What a provider task uses to hand its groups to the manager.
#[derive(Clone)]
pub(crate) struct Updater {
    shared: Arc<Shared>,
    provider: String,
    /// The first set the provider served (for log lines and per-config metrics).
    set: String,
}

impl Updater {
    /// Replaces the groups of the given sources for every set using this provider;
    /// a group without targets removes its source.
    pub(crate) fn send(&self, groups: Vec<TargetGroup>) {
        self.shared.metrics.received_updates.inc();
        {
            let mut st = self.shared.state.lock();
            let Some(p) = st.providers.iter().find(|p| p.name == self.provider) else {
                return; // Stopped meanwhile.
            };
            let subs: Vec<String> = p.subs.iter().cloned().collect();
            for s in subs {
                update_group(&mut st, (s, self.provider.clone()), &groups);
            }
        }
        self.shared.trigger.notify_one();
    }

    pub(crate) fn mechanisms(&self) -> &MechanismMetrics {
        &self.shared.mechanisms
    }

    /// The set name for logs and per-config metrics.
    pub(crate) fn set(&self) -> &str {
        &self.set
    }
}

fn update_group(st: &mut State, key: (String, String), groups: &[TargetGroup]) {
    let entry = st.targets.entry(key).or_default();
    for g in groups {
        if g.targets.is_empty() {
            entry.remove(&g.source);
        } else {
            entry.insert(g.source.clone(), g.clone());
        }
    }
}

impl DiscoveryManager {
    /// `name` is `scrape` or `notify` (the `name` label of the `prometheus_sd_*`
    /// metrics). Fails when metrics of the same manager name are already registered.
    pub fn new(
        name: &'static str,
        registry: &prometheus::Registry,
    ) -> Result<DiscoveryManager, String> {
        Self::with_updatert(name, registry, UPDATERT)
    }

    /// The same with another coalescing interval (tests).
    pub(crate) fn with_updatert(
        name: &'static str,
        registry: &prometheus::Registry,
        updatert: Duration,
    ) -> Result<DiscoveryManager, String> {
        let metrics = ManagerMetrics::register(name, registry)?;
        let mechanisms = MechanismMetrics::shared(registry);
        let (tx, _rx) = watch::channel(Arc::new(TargetSets::new()));
        Ok(DiscoveryManager {
            shared: Arc::new(Shared {
                name,
                state: Mutex::new(State {
                    providers: Vec::new(),
                    targets: BTreeMap::new(),
                    unsupported: BTreeMap::new(),
                    removed: BTreeSet::new(),
                    last_provider: 0,
                    stopped: false,
                }),
                trigger: Notify::new(),
                tx,
                metrics,
                mechanisms,
            }),
            updatert,
            sender: Mutex::new(None),
        })
    }

    /// Applies the discovery configs by set name (the job name, or `config-0`… for
    /// Alertmanager sets). A config unchanged keeps its running provider and targets;
    /// removed sets are published once with no groups and then disappear; mechanisms
    /// Ember does not run are logged and reported by [`Self::unsupported`]. The new
    /// state (static targets included) is published before this returns. Must be called
    /// inside a tokio runtime.
    pub fn apply_config(&self, sets: BTreeMap<String, ServiceDiscoveryConfigs>) {
        self.ensure_sender();
        let shared = &self.shared;
        let mut st = shared.state.lock();
        if st.stopped {
            return;
        }
        let mut failed = 0usize;
        st.unsupported.clear();
        let old_sets: BTreeSet<String> = st
            .providers
            .iter()
            .flat_map(|p| p.subs.iter().cloned())
            .collect();
        for (set, cfg) in &sets {
            failed += register_providers(shared.name, &mut st, set, cfg);
        }
        shared.metrics.failed_configs.set(failed as i64);

        // Stop providers no set uses any more; move the others to their new sets.
        let providers = std::mem::take(&mut st.providers);
        let mut kept = Vec::with_capacity(providers.len());
        let mut to_start = Vec::new();
        for mut p in providers {
            if p.new_subs.is_empty() {
                if let Some(t) = p.task.take() {
                    t.abort();
                }
                for s in &p.subs {
                    st.targets.remove(&(s.clone(), p.name.clone()));
                }
                continue;
            }
            let reference = p
                .subs
                .iter()
                .find_map(|s| st.targets.get(&(s.clone(), p.name.clone())).cloned());
            for s in &p.subs {
                if !p.new_subs.contains(s) {
                    st.targets.remove(&(s.clone(), p.name.clone()));
                }
            }
            for s in &p.new_subs {
                if !p.subs.contains(s) {
                    if let Some(r) = &reference {
                        st.targets.insert((s.clone(), p.name.clone()), r.clone());
                    }
                }
            }
            p.subs = std::mem::take(&mut p.new_subs);
            if p.task.is_none() {
                to_start.push(kept.len());
            }
            kept.push(p);
        }
        st.providers = kept;
        for i in to_start {
            start_provider(shared, &mut st, i);
        }
        let new_sets: BTreeSet<String> = sets.keys().cloned().collect();
        st.removed = old_sets.difference(&new_sets).cloned().collect();
        for s in &st.removed {
            shared
                .metrics
                .discovered_targets
                .remove_label_values(&[s])
                .ok();
            shared.metrics.last_update.remove_label_values(&[s]).ok();
        }
        // Publish now: downstream wants the full state right after a reload.
        let all = all_groups(shared, &mut st);
        drop(st);
        shared.metrics.sent_updates.inc();
        shared.tx.send_replace(Arc::new(all));
    }

    /// The latest full state of all sets. Updates are coalesced: sent after a short
    /// back-off that grows to at most 5 s while updates keep coming.
    pub fn subscribe(&self) -> watch::Receiver<Arc<TargetSets>> {
        self.shared.tx.subscribe()
    }

    /// Mechanisms of this set that Ember does not run yet (for target status).
    #[allow(dead_code)] // the target status does not show them yet (issue #5)
    pub fn unsupported(&self, set: &str) -> Vec<&'static str> {
        self.shared
            .state
            .lock()
            .unsupported
            .get(set)
            .cloned()
            .unwrap_or_default()
    }

    /// Stops every provider and the publishing task.
    pub fn stop(&self) {
        let mut st = self.shared.state.lock();
        st.stopped = true;
        for p in &mut st.providers {
            if let Some(t) = p.task.take() {
                t.abort();
            }
        }
        if let Some(t) = self.sender.lock().take() {
            t.abort();
        }
    }

    fn ensure_sender(&self) {
        let mut sender = self.sender.lock();
        if sender.is_some() {
            return;
        }
        let shared = self.shared.clone();
        let updatert = self.updatert;
        *sender = Some(tokio::spawn(async move {
            send_loop(shared, updatert).await;
        }));
    }
}

impl Drop for DiscoveryManager {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Registers the providers of one set; returns how many configs could not be run.
fn register_providers(
    manager: &str,
    st: &mut State,
    set: &str,
    cfg: &ServiceDiscoveryConfigs,
) -> usize {
    let mut failed = 0;
    let mut added = false;
    let add = |st: &mut State, pc: ProviderConfig| {
        if let Some(p) = st.providers.iter_mut().find(|p| p.config == pc) {
            p.new_subs.insert(set.to_string());
            return;
        }
        let name = format!("{}/{}", pc.mechanism(), st.last_provider);
        st.last_provider += 1;
        st.providers.push(Provider {
            name,
            config: pc,
            subs: BTreeSet::new(),
            new_subs: BTreeSet::from([set.to_string()]),
            task: None,
        });
    };
    if !cfg.static_configs.is_empty() {
        add(st, ProviderConfig::Static(cfg.static_configs.clone()));
        added = true;
    }
    for c in &cfg.file {
        add(st, ProviderConfig::File(c.clone()));
        added = true;
    }
    for c in &cfg.http {
        let pc = ProviderConfig::Http(Box::new(c.clone()));
        if !st.providers.iter().any(|p| p.config == pc) {
            // A client that cannot be built (unreadable CA file...) fails the config.
            if let Err(e) = http::Discovery::new(c) {
                tracing::error!(err = %e, r#type = "http", config = set, "Cannot create service discovery");
                failed += 1;
                continue;
            }
        }
        add(st, pc);
        added = true;
    }
    for c in &cfg.dns {
        add(st, ProviderConfig::Dns(c.clone()));
        added = true;
    }
    let unsupported: Vec<&'static str> = cfg
        .kinds()
        .into_iter()
        .filter(|k| !matches!(*k, "static" | "file" | "http" | "dns"))
        .collect();
    if !unsupported.is_empty() {
        tracing::warn!(
            manager,
            config = set,
            mechanisms = %unsupported.join(","),
            "Service discovery mechanism not supported by Ember yet; its targets are not discovered"
        );
        failed += unsupported.len();
        st.unsupported.insert(set.to_string(), unsupported);
    }
    if !added {
        // As Prometheus: an empty static group, so the set exists with no targets.
        add(
            st,
            ProviderConfig::Static(vec![ember_config::TargetGroup::default()]),
        );
    }
    failed
}

/// Starts provider `i`: static groups are applied at once, the others run as tasks.
fn start_provider(shared: &Arc<Shared>, st: &mut State, i: usize) {
    let p = &st.providers[i];
    let updater = Updater {
        shared: shared.clone(),
        provider: p.name.clone(),
        set: p.subs.iter().next().cloned().unwrap_or_default(),
    };
    tracing::debug!(provider = %p.name, subs = ?p.subs, "Starting provider");
    let task = match p.config.clone() {
        ProviderConfig::Static(groups) => {
            let groups: Vec<TargetGroup> = groups
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
            shared.metrics.received_updates.inc();
            let name = p.name.clone();
            let subs: Vec<String> = p.subs.iter().cloned().collect();
            for s in subs {
                update_group(st, (s, name.clone()), &groups);
            }
            // Nothing to run; a finished task marks it started.
            tokio::spawn(async {})
        }
        ProviderConfig::File(c) => tokio::spawn(file::run(c, updater)),
        ProviderConfig::Http(c) => match http::Discovery::new(&c) {
            Ok(d) => tokio::spawn(d.run(updater)),
            Err(e) => {
                // Checked at registration; only a file changing in between gets here.
                tracing::error!(err = %e, r#type = "http", config = %updater.set, "Cannot create service discovery");
                tokio::spawn(async {})
            }
        },
        ProviderConfig::Dns(c) => tokio::spawn(dns::run(c, updater, None)),
    };
    st.providers[i].task = Some(task);
}

/// All sets' groups, in provider order; sets with no targets get an empty list so
/// consumers drop their stale targets. Updates the per-set metrics.
fn all_groups(shared: &Shared, st: &mut State) -> TargetSets {
    let mut sets = TargetSets::new();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for p in &st.providers {
        for s in &p.subs {
            let list = sets.entry(s.clone()).or_default();
            let n = counts.entry(s.clone()).or_default();
            if let Some(groups) = st.targets.get(&(s.clone(), p.name.clone())) {
                for g in groups.values() {
                    *n += g.targets.len();
                    list.push(g.clone());
                }
            }
        }
    }
    for s in std::mem::take(&mut st.removed) {
        sets.entry(s).or_default();
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or_default();
    for (s, n) in counts {
        shared
            .metrics
            .discovered_targets
            .with_label_values(&[&s])
            .set(n as f64);
        shared.metrics.last_update.with_label_values(&[&s]).set(now);
    }
    sets
}

/// Publishes the state after each burst of updates: waits a back-off (100 ms growing
/// ×1.5 to `updatert`), then sends if anything changed; after a quiet `updatert` the
/// back-off starts low again so a lone update goes out promptly.
async fn send_loop(shared: Arc<Shared>, updatert: Duration) {
    let mut backoff = INITIAL_BACKOFF.min(updatert);
    let mut last_sent = tokio::time::Instant::now() - updatert;
    loop {
        // Wait for a change, then let the burst settle.
        shared.trigger.notified().await;
        if last_sent.elapsed() > updatert {
            backoff = INITIAL_BACKOFF.min(updatert);
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff.mul_f64(1.5)).min(updatert);
        let all = {
            let mut st = shared.state.lock();
            if st.stopped {
                return;
            }
            all_groups(&shared, &mut st)
        };
        shared.metrics.sent_updates.inc();
        shared.tx.send_replace(Arc::new(all));
        last_sent = tokio::time::Instant::now();
    }
}

#[cfg(test)]
mod tests;
