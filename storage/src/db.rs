//! The data directory: lock file, opening (WAL replay), appenders, queriers, closing.
//!
//! Layout, as Prometheus's:
//!
//! ```text
//! <dir>/lock            flock()ed while a process owns the directory
//! <dir>/wal/            write-ahead log segments and checkpoints
//! <dir>/chunks_head/    full head chunks, memory-mapped
//! ```

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use fs4::fs_std::FileExt;
use parking_lot::{Condvar, Mutex};

use crate::chunks_head::{ChunkDiskMapper, ChunkDiskMapperOptions, ChunksHeadError};
use crate::head::replay::ReplayError;
use crate::head::{Appender, Head, HeadOptions, HeadQuerier, ReplayStats};
use crate::wal::{Wal, WalError, WalMetrics, WalOptions};

/// How WAL records are compressed (`--storage.tsdb.wal-compression[-type]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WalCompression {
    None,
    #[default]
    Snappy,
    Zstd,
}

/// Options for [`Db::open`]; the defaults are Prometheus's.
#[derive(Debug, Clone)]
pub struct DbOptions {
    pub dir: PathBuf,
    /// The head chunk and block range in milliseconds (`--storage.tsdb.min-block-duration`).
    pub min_block_duration: i64,
    /// WAL segment size in bytes (`--storage.tsdb.wal-segment-size`).
    pub wal_segment_size: u64,
    pub wal_compression: WalCompression,
    /// Samples per head chunk before it is cut (`--storage.tsdb.samples-per-chunk`).
    pub samples_per_chunk: u16,
    /// Do not create or flock `<dir>/lock` (`--storage.tsdb.no-lockfile`).
    pub no_lockfile: bool,
    /// How often the WAL is fsynced besides on segment close; `None` only on close.
    pub wal_fsync_interval: Option<Duration>,
    /// Write buffer for `chunks_head/` files (`--storage.tsdb.head-chunks-write-buffer-size-bytes`).
    pub head_chunks_write_buffer_size: usize,
}

impl DbOptions {
    pub fn new(dir: impl Into<PathBuf>) -> DbOptions {
        DbOptions {
            dir: dir.into(),
            min_block_duration: 2 * 3600 * 1000,
            wal_segment_size: 128 * 1024 * 1024,
            wal_compression: WalCompression::Snappy,
            samples_per_chunk: 120,
            no_lockfile: false,
            wal_fsync_interval: Some(Duration::from_secs(10)),
            head_chunks_write_buffer_size: 4 * 1024 * 1024,
        }
    }
}

/// Errors opening or running the database.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("data directory {dir}: {source}")]
    Io {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("data directory {} is locked by another process (lock file {}); use --storage.tsdb.no-lockfile only if you are sure it is not in use", .0.display(), .0.join("lock").display())]
    Locked(PathBuf),
    #[error("database is closed")]
    Closed,
    #[error("WAL: {0}")]
    Wal(#[from] WalError),
    #[error("chunks_head: {0}")]
    ChunksHead(#[from] ChunksHeadError),
    #[error("replaying the WAL: {0}")]
    Replay(#[from] ReplayError),
    #[error("registering metrics: {0}")]
    Metrics(prometheus::Error),
}

/// Progress of the start-up WAL replay, readable while [`Db::open`] runs (for
/// `/api/v1/status/walreplay`).
#[derive(Debug, Default)]
pub struct ReplayProgress {
    pub first_segment: AtomicU64,
    pub last_segment: AtomicU64,
    pub current_segment: AtomicU64,
    pub done: AtomicBool,
}

/// A snapshot of the database's state, for status pages and self-metrics.
#[derive(Debug, Clone, Default)]
pub struct DbStats {
    pub head_series: u64,
    pub head_chunks: u64,
    pub head_min_time: i64,
    pub head_max_time: i64,
}

/// An open data directory.
pub struct Db {
    opts: DbOptions,
    head: Arc<Head>,
    replay: ReplayStats,
    lock: Option<File>,
    closed: AtomicBool,
    /// Stops the background fsync thread.
    stop: Arc<(Mutex<bool>, Condvar)>,
    syncer: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Db {
    /// Opens (creating if needed) the data directory, takes its lock and replays the WAL.
    pub fn open(opts: DbOptions, registry: Option<&prometheus::Registry>) -> Result<Db, DbError> {
        Db::open_with_progress(opts, registry, &ReplayProgress::default())
    }

    /// As [`Db::open`], reporting replay progress into `progress`.
    pub fn open_with_progress(
        opts: DbOptions,
        registry: Option<&prometheus::Registry>,
        progress: &ReplayProgress,
    ) -> Result<Db, DbError> {
        let io = |source| DbError::Io {
            dir: opts.dir.clone(),
            source,
        };
        std::fs::create_dir_all(&opts.dir).map_err(io)?;
        let lock = if opts.no_lockfile {
            None
        } else {
            Some(acquire_lock(&opts.dir)?)
        };
        let wal_dir = opts.dir.join("wal");
        let chunks_dir = opts.dir.join("chunks_head");
        std::fs::create_dir_all(&wal_dir).map_err(io)?;
        std::fs::create_dir_all(&chunks_dir).map_err(io)?;

        let mapper = ChunkDiskMapper::open(
            &chunks_dir,
            ChunkDiskMapperOptions {
                write_buffer_size: opts.head_chunks_write_buffer_size,
                ..ChunkDiskMapperOptions::default()
            },
        )?;
        let wal_metrics = Arc::new(WalMetrics::new());
        let wal = Wal::open(
            &wal_dir,
            WalOptions {
                segment_size: opts.wal_segment_size,
                compression: opts.wal_compression,
                metrics: wal_metrics.clone(),
            },
        )?;
        let head = Arc::new(Head::durable(
            HeadOptions {
                chunk_range: opts.min_block_duration,
                samples_per_chunk: opts.samples_per_chunk,
                ..HeadOptions::default()
            },
            wal,
            mapper,
        ));
        if let Some(r) = registry {
            head.register_metrics(r).map_err(DbError::Metrics)?;
            wal_metrics.register(r).map_err(DbError::Metrics)?;
        }

        let stats = head.replay(&wal_dir, progress)?;
        tracing::info!(
            series = stats.series,
            samples = stats.samples,
            mmapped_chunks = stats.mmapped_chunks,
            duration = ?stats.duration,
            "WAL replay completed"
        );

        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let syncer = opts
            .wal_fsync_interval
            .map(|every| spawn_syncer(head.clone(), stop.clone(), every));
        Ok(Db {
            opts,
            head,
            replay: stats,
            lock,
            closed: AtomicBool::new(false),
            stop,
            syncer: Mutex::new(syncer),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.opts.dir
    }

    /// What the start-up replay found.
    pub fn replay_stats(&self) -> &ReplayStats {
        &self.replay
    }

    /// The head, for appenders and queriers.
    pub fn head(&self) -> &Arc<Head> {
        &self.head
    }

    /// A new batch of appends.
    pub fn appender(&self) -> Appender {
        self.head.appender()
    }

    /// A querier over `[mint, maxt]` (milliseconds, inclusive).
    pub fn querier(&self, mint: i64, maxt: i64) -> HeadQuerier {
        self.head.querier(mint, maxt)
    }

    pub fn stats(&self) -> DbStats {
        let h = self.head.stats();
        DbStats {
            head_series: h.series,
            head_chunks: h.chunks,
            head_min_time: h.min_time,
            head_max_time: h.max_time,
        }
    }

    /// Flushes and fsyncs the WAL and head chunk files and releases the lock. Appenders
    /// fail with [`AppendError::Closed`](crate::head::AppendError::Closed) afterwards.
    pub fn close(&self) -> Result<(), DbError> {
        if self.closed.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        {
            let (flag, cv) = &*self.stop;
            *flag.lock() = true;
            cv.notify_all();
        }
        if let Some(h) = self.syncer.lock().take() {
            let _ = h.join();
        }
        let result = self.head.close();
        if let Some(lock) = &self.lock {
            let _ = FileExt::unlock(lock);
        }
        result
    }
}

/// Fsyncs the WAL every `every` until `stop` is set, so that at most that much
/// acknowledged data depends on the page cache surviving an OS crash.
fn spawn_syncer(
    head: Arc<Head>,
    stop: Arc<(Mutex<bool>, Condvar)>,
    every: Duration,
) -> std::thread::JoinHandle<()> {
    std::thread::Builder::new()
        .name("wal-fsync".into())
        .spawn(move || {
            let (flag, cv) = &*stop;
            let mut stopped = flag.lock();
            while !*stopped {
                cv.wait_for(&mut stopped, every);
                if *stopped {
                    break;
                }
                if let Some(wal) = head.wal() {
                    if let Err(e) = wal.sync() {
                        tracing::error!(err = %e, "periodic WAL fsync failed");
                    }
                }
            }
        })
        .expect("spawning the WAL fsync thread")
}

impl Drop for Db {
    fn drop(&mut self) {
        if let Err(e) = self.close() {
            tracing::error!(err = %e, "closing the database failed");
        }
    }
}

/// Creates `<dir>/lock` and takes an exclusive `flock` on it, as Prometheus does, so that
/// two servers (Ember or Prometheus) never share a data directory.
fn acquire_lock(dir: &Path) -> Result<File, DbError> {
    let path = dir.join("lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|source| DbError::Io {
            dir: dir.to_path_buf(),
            source,
        })?;
    match FileExt::try_lock_exclusive(&file) {
        Ok(true) => Ok(file),
        Ok(false) => Err(DbError::Locked(dir.to_path_buf())),
        Err(source) => Err(DbError::Io {
            dir: dir.to_path_buf(),
            source,
        }),
    }
}
