//! The daemon's life, in Prometheus's order and with its log lines:
//!
//! 1. Check the configuration file can be loaded (exit 2 if not).
//! 2. Bind every `--web.listen-address` and serve HTTP (exit 1 if a bind fails). From here
//!    `/-/healthy` answers 200 and `/-/ready` 503.
//! 3. Open the storage on a blocking thread: lock the data directory, replay the WAL.
//!    A locked or unusable directory is fatal (exit 1).
//! 4. Start the scrape manager, apply the configuration, mark the server ready
//!    (`/-/ready` 200, `prometheus_ready 1`).
//! 5. Serve until SIGINT, SIGTERM or `POST /-/quit`; SIGHUP and `POST /-/reload` reload
//!    the configuration (queued until the server is ready).
//! 6. Shut down: mark stopping, stop the scrape loops, stop accepting and finish
//!    in-flight requests, close the storage (WAL flushed and fsynced, lock released),
//!    exit 0.
//!
//! A signal during start-up waits for the storage to finish opening, then shuts down.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use ember_storage::db::{Db, DbError, DbOptions, ReplayProgress};
use tokio::net::TcpListener;
use tokio::signal::unix::{signal, Signal, SignalKind};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tracing::{debug, error, info, warn};

use crate::api::instrument::HttpMetrics;
use crate::api::{self, AppState, Control, Readiness, ReadyStatus};
use crate::build_info::BUILD;
use crate::cli::spec::Feature;
use crate::cli::units::{format_base2_bytes, format_duration, format_go_duration};
use crate::cli::{Notice, Options};
use crate::config::{self, ConfigSource};
use crate::discovery::DiscoveryManager;
use crate::host;
use crate::metrics::SelfMetrics;
use crate::scrape::{ScrapeManager, TargetSets};

/// How long in-flight HTTP requests may take to finish at shutdown.
const HTTP_DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// Runs the server until it is told to stop; returns the process exit code.
pub async fn run(options: Options) -> u8 {
    // Signals are caught from the start, so one arriving during start-up is handled.
    let (mut interrupt, mut terminate, mut hangup) = match signals() {
        Ok(s) => s,
        Err(e) => {
            error!(err = %e, "Unable to install signal handlers");
            return 1;
        }
    };
    log_start(&options);

    let config_path = options.config_file.as_path();
    match config::load_parsed(config_path, !options.config_file_given) {
        Ok(parsed) => {
            if parsed.source == ConfigSource::BuiltIn {
                info!(
                    file = %absolute(config_path),
                    "No configuration file found; using the built-in configuration, which scrapes Ember itself"
                );
            }
            warn_unimplemented(&parsed.config);
        }
        Err(e) => {
            error!(
                file = %absolute(config_path),
                err = %e,
                "Error loading config (--config.file={})",
                config_path.display()
            );
            return 2;
        }
    }

    let metrics = match SelfMetrics::new() {
        Ok(m) => m,
        Err(e) => {
            error!(err = %e, "Unable to register the server's metrics");
            return 1;
        }
    };
    let http_metrics = match HttpMetrics::new(&metrics.registry) {
        Ok(m) => Arc::new(m),
        Err(e) => {
            error!(err = %e, "Unable to register the HTTP metrics");
            return 1;
        }
    };
    let (control_tx, mut control_rx) = mpsc::channel(8);
    let app_name = if options.agent_mode {
        "Prometheus Agent"
    } else {
        "Prometheus Server"
    };
    let state = Arc::new(AppState::new(
        app_name,
        Readiness::new(metrics.ready.clone()),
        metrics.registry.clone(),
        control_tx,
        Arc::new(options.clone()),
    ));
    let router = api::router(Arc::clone(&state), &http_metrics, &options.route_prefix);

    let mut listeners = Vec::with_capacity(options.listen_addresses.len());
    for address in &options.listen_addresses {
        info!(component = "web", address = %address, "Start listening for connections");
        match bind(address).await {
            Ok(listener) => listeners.push(listener),
            Err(e) => {
                error!(err = %format!("listen tcp {address}: {e}"), "Unable to start web listener");
                return 1;
            }
        }
    }
    if options.route_prefix != "/" {
        info!(component = "web", prefix = %options.route_prefix, "Router prefix");
    }
    debug!(component = "web", url = %options.external_url, "External URL");
    let web = WebServer::start(listeners, router);

    info!("Starting TSDB ...");
    let mut opening = Some(open_storage(
        options.storage.clone(),
        metrics.registry.clone(),
        Arc::clone(&state.api_v1.replay),
    ));
    let mut db: Option<Arc<Db>> = None;
    let mut scraping: Option<Scraping> = None;
    let mut pending_reloads: Vec<oneshot::Sender<Result<(), String>>> = Vec::new();
    let mut reload_on_ready = false;

    let exit_code = loop {
        tokio::select! {
            opened = async {
                match opening.as_mut() {
                    Some(task) => task.await,
                    None => std::future::pending().await,
                }
            } => {
                opening = None;
                match opened.map_err(|e| e.to_string()).and_then(|r| r.map_err(|e| e.to_string())) {
                    Ok(opened) => {
                        log_storage_started(&options.storage);
                        let opened = Arc::new(opened);
                        state.set_db(Arc::clone(&opened));
                        match Scraping::start(Arc::clone(&opened), &metrics.registry) {
                            Ok(s) => {
                                state.set_scrape_manager(Arc::clone(&s.manager));
                                scraping = Some(s);
                            }
                            Err(e) => {
                                error!(err = %e, "Unable to start the scrape manager");
                                db = Some(opened);
                                break 1;
                            }
                        }
                        db = Some(opened);
                        if let Err(e) = reload_config(&options, &metrics, &state, scraping.as_ref()).await {
                            error!(err = %e, "Fatal error");
                            break 1;
                        }
                        state.readiness.set(ReadyStatus::Ready);
                        info!("Server is ready to receive web requests.");
                        if std::mem::take(&mut reload_on_ready) {
                            let _ = reload_logged(&options, &metrics, &state, scraping.as_ref()).await;
                        }
                        for reply in pending_reloads.drain(..) {
                            let _ = reply.send(reload_logged(&options, &metrics, &state, scraping.as_ref()).await);
                        }
                    }
                    Err(e) => {
                        error!(err = %format!("opening storage failed: {e}"), "Fatal error");
                        break 1;
                    }
                }
            }
            // Go's names for the signals.
            _ = interrupt.recv() => {
                warn!(signal = "interrupt", "Received an OS signal, exiting gracefully...");
                break 0;
            }
            _ = terminate.recv() => {
                warn!(signal = "terminated", "Received an OS signal, exiting gracefully...");
                break 0;
            }
            _ = hangup.recv() => {
                if state.readiness.get() == ReadyStatus::Ready {
                    let _ = reload_logged(&options, &metrics, &state, scraping.as_ref()).await;
                } else {
                    reload_on_ready = true;
                }
            }
            Some(control) = control_rx.recv() => match control {
                Control::Quit => {
                    warn!("Received termination request via web service, exiting gracefully...");
                    break 0;
                }
                Control::Reload(reply) => {
                    if state.readiness.get() == ReadyStatus::Ready {
                        let _ = reply.send(reload_logged(&options, &metrics, &state, scraping.as_ref()).await);
                    } else {
                        pending_reloads.push(reply);
                    }
                }
            },
        }
    };

    state.readiness.set(ReadyStatus::Stopping);
    if let Some(s) = scraping.take() {
        info!("Stopping scrape manager...");
        s.stop().await;
    }
    info!("Stopping web handler...");
    web.stop().await;
    info!("Web handler stopped");
    if let Some(still_opening) = opening.take() {
        info!("Waiting for the storage to finish opening before closing it...");
        if let Ok(Ok(opened)) = still_opening.await {
            db = Some(Arc::new(opened));
        }
    }
    if let Some(db) = db {
        info!("Stopping storage...");
        let closed = tokio::task::spawn_blocking(move || db.close()).await;
        if let Err(e) = closed
            .map_err(|e| e.to_string())
            .and_then(|r| r.map_err(|e| e.to_string()))
        {
            error!(err = %e, "Error stopping storage");
        }
        info!("TSDB stopped");
    }
    if exit_code == 0 {
        info!("See you next time!");
    }
    exit_code
}

/// The first log lines: what is starting, on what, and the flags Ember only accepts.
fn log_start(options: &Options) {
    let mode = if options.agent_mode {
        "agent"
    } else {
        "server"
    };
    info!(mode, version = %BUILD.short(), "Starting Ember");
    info!(
        build_context = %BUILD.context(),
        host_details = %host::uname(),
        fd_limits = %host::fd_limits(),
        vm_limits = %host::vm_limits(),
        "operational information"
    );
    for notice in options.notices() {
        match notice {
            Notice::InactiveFlag {
                flag: "agent",
                feature: Feature::AgentMode,
            } => warn!(
                flag = "--agent",
                "Agent mode is not implemented yet: running as a server, storing in --storage.agent.path"
            ),
            Notice::InactiveFlag { flag, feature } => warn!(
                flag = %format!("--{flag}"),
                feature = feature.describe(),
                "Flag accepted, but its feature is not available in Ember yet: it has no effect"
            ),
            Notice::GoRuntimeFlag { flag } => warn!(
                flag = %format!("--{flag}"),
                "Flag accepted for compatibility: it tunes the Go runtime and has no effect in Ember"
            ),
            Notice::InactiveFeature(option) => warn!(
                option = %option,
                "Feature flag accepted, but the feature is not available in Ember yet: it has no effect"
            ),
            Notice::UnknownFeature(option) => {
                warn!(option = %option, "Unknown option for --enable-feature")
            }
        }
    }
}

/// Starts opening the storage on a blocking thread (the WAL replay is long and
/// synchronous).
fn open_storage(
    options: DbOptions,
    registry: prometheus::Registry,
    progress: Arc<ReplayProgress>,
) -> JoinHandle<Result<Db, DbError>> {
    tokio::task::spawn_blocking(move || Db::open_with_progress(options, Some(&registry), &progress))
}

fn log_storage_started(options: &DbOptions) {
    let fs_type = host::fs_type(&options.dir);
    if host::is_unsupported_fs(&fs_type) {
        warn!(
            fs_type = %fs_type,
            "This file system is not supported: network file systems can corrupt and lose data. Use a local disk for the data directory"
        );
    } else {
        info!(fs_type = %fs_type, "filesystem information");
    }
    info!("TSDB started");
    let min_block = Duration::from_millis(u64::try_from(options.min_block_duration).unwrap_or(0));
    debug!(
        MinBlockDuration = %format_duration(min_block),
        NoLockfile = options.no_lockfile,
        WALSegmentSize = %format_base2_bytes(i64::try_from(options.wal_segment_size).unwrap_or(i64::MAX)),
        WALCompressionType = ?options.wal_compression,
        SamplesPerChunk = options.samples_per_chunk,
        HeadChunksWriteBufferSize = options.head_chunks_write_buffer_size,
        "TSDB options"
    );
}

/// Service discovery for scraping, and the scrape manager it feeds.
struct Scraping {
    discovery: DiscoveryManager,
    manager: Arc<ScrapeManager>,
    targets: watch::Receiver<TargetSets>,
    run: JoinHandle<()>,
}

impl Scraping {
    fn start(db: Arc<Db>, registry: &prometheus::Registry) -> Result<Scraping, String> {
        let discovery = DiscoveryManager::new("scrape", registry)?;
        let manager = ScrapeManager::new(db, registry)?;
        let targets = discovery.subscribe();
        let run = tokio::spawn(Arc::clone(&manager).run(targets.clone()));
        Ok(Scraping {
            discovery,
            manager,
            targets,
            run,
        })
    }

    /// Applies a configuration: the scrape pools, then discovery (which publishes the
    /// static targets at once), then the pools are synced with the new targets.
    async fn apply(&self, cfg: &ember_config::Config) -> Result<(), String> {
        let result = self.manager.apply_config(cfg).await;
        let sets = cfg
            .all_scrape_configs()
            .map(|c| (c.job_name.clone(), c.service_discovery.clone()))
            .collect();
        self.discovery.apply_config(sets);
        let latest = Arc::clone(&self.targets.borrow());
        self.manager.sync_targets(latest).await;
        result
    }

    async fn stop(self) {
        self.discovery.stop();
        self.manager.stop().await;
        let _ = self.run.await;
    }
}

/// Logs that rules and alerting, which the configuration may set, are not applied yet.
fn warn_unimplemented(cfg: &ember_config::Config) {
    let has_alertmanagers = cfg.alerting.alertmanagers.iter().any(|am| {
        am.service_discovery
            .static_configs
            .iter()
            .any(|g| !g.targets.is_empty())
            || am.service_discovery.kinds().iter().any(|k| *k != "static")
    });
    if !cfg.rule_files.is_empty() || has_alertmanagers {
        warn!(
            component = "config",
            "Rules and alerting are not implemented yet: rule_files and alerting are read but not applied"
        );
    }
}

/// Loads the configuration file again, applies it, and records the outcome in the
/// metrics. A configuration that does not load leaves the running one in place.
async fn reload_config(
    options: &Options,
    metrics: &SelfMetrics,
    state: &AppState,
    scraping: Option<&Scraping>,
) -> Result<(), String> {
    let start = Instant::now();
    let path = options.config_file.as_path();
    info!(filename = %path.display(), "Loading configuration file");
    let failed = |e: String| {
        metrics.config_loaded(false);
        format!(
            "couldn't load configuration (--config.file={:?}): {e}",
            path.display().to_string()
        )
    };
    let parsed = config::load_parsed(path, !options.config_file_given).map_err(failed)?;
    let source = match &parsed.source {
        ConfigSource::BuiltIn => "built-in".to_string(),
        ConfigSource::File(path) => path.display().to_string(),
    };
    debug!(from = %source, "Configuration read");
    if let Some(s) = scraping {
        s.apply(&parsed.config).await.map_err(failed)?;
    }
    state.api_v1.set_config_yaml(&parsed.config.to_yaml());
    metrics.config_loaded(true);
    info!(
        filename = %path.display(),
        totalDuration = %format_go_duration(start.elapsed()),
        "Completed loading of configuration file"
    );
    Ok(())
}

/// A reload asked for by SIGHUP or `/-/reload`: as [`reload_config`], logging a failure.
async fn reload_logged(
    options: &Options,
    metrics: &SelfMetrics,
    state: &AppState,
    scraping: Option<&Scraping>,
) -> Result<(), String> {
    let outcome = reload_config(options, metrics, state, scraping).await;
    if let Err(e) = &outcome {
        error!(err = %e, "Error reloading config");
    }
    outcome
}

/// `path` made absolute against the working directory, for error messages.
fn absolute(path: &Path) -> String {
    std::path::absolute(path)
        .unwrap_or_else(|_| path.to_path_buf())
        .display()
        .to_string()
}

/// Binds a listen address. An empty host (`:9090`) means every interface, IPv6 and IPv4,
/// as in Go.
async fn bind(address: &str) -> std::io::Result<TcpListener> {
    if let Some(port) = address.strip_prefix(':') {
        return match TcpListener::bind(format!("[::]:{port}")).await {
            Ok(listener) => Ok(listener),
            Err(_) => TcpListener::bind(format!("0.0.0.0:{port}")).await,
        };
    }
    TcpListener::bind(address).await
}

/// The HTTP servers, one per listener, sharing one router.
struct WebServer {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl WebServer {
    fn start(listeners: Vec<TcpListener>, router: Router) -> WebServer {
        let (stop, stopped) = watch::channel(false);
        let tasks = listeners
            .into_iter()
            .map(|listener| {
                let mut stopped = stopped.clone();
                let router = router.clone();
                tokio::spawn(async move {
                    let shutdown = async move {
                        let _ = stopped.wait_for(|&stop| stop).await;
                    };
                    if let Err(e) = axum::serve(listener, router)
                        .with_graceful_shutdown(shutdown)
                        .await
                    {
                        error!(component = "web", err = %e, "Web server failed");
                    }
                })
            })
            .collect();
        WebServer { stop, tasks }
    }

    /// Stops accepting connections and waits (bounded) for in-flight requests.
    async fn stop(self) {
        let _ = self.stop.send(true);
        let deadline = tokio::time::Instant::now() + HTTP_DRAIN_TIMEOUT;
        for mut task in self.tasks {
            if tokio::time::timeout_at(deadline, &mut task).await.is_err() {
                warn!(
                    component = "web",
                    "In-flight requests did not finish in time; closing their connections"
                );
                task.abort();
            }
        }
    }
}

/// SIGINT, SIGTERM and SIGHUP streams.
fn signals() -> std::io::Result<(Signal, Signal, Signal)> {
    Ok((
        signal(SignalKind::interrupt())?,
        signal(SignalKind::terminate())?,
        signal(SignalKind::hangup())?,
    ))
}
