//! `file_sd_configs`: target groups read from JSON or YAML files matched by the
//! configured patterns, re-read when a watched directory changes and every
//! `refresh_interval`, as Prometheus's `discovery/file`.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::time::Instant;

use ember_config::discovery::FileSdConfig;
use notify::{EventKind, RecursiveMode, Watcher};

use super::targetgroup::{finish, parse_json, parse_yaml, TargetGroup};
use super::Updater;
use crate::go_errors::io_error;

/// The label naming the file a group came from.
const FILEPATH_LABEL: &str = "__meta_filepath";
/// Largest file read; a larger one is a read error (its last good targets stay).
pub(crate) const MAX_FILE_BYTES: u64 = 64 << 20;

/// Runs until aborted.
pub(crate) async fn run(cfg: FileSdConfig, up: Updater) {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<notify::Result<notify::Event>>();
    let mut watcher = match notify::recommended_watcher(move |ev| {
        let _ = tx.send(ev);
    }) {
        Ok(w) => Some(w),
        Err(e) => {
            // Still re-read on the interval.
            tracing::error!(err = %e, "Error adding file watcher");
            up.mechanisms().file_watcher_errors.inc();
            None
        }
    };
    let paths = cfg.files.clone();
    let mut last: BTreeMap<String, usize> = BTreeMap::new();
    let mut ticker = tokio::time::interval(
        cfg.refresh_interval
            .as_std()
            .max(std::time::Duration::from_millis(1)),
    );
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        // The first tick is immediate: the initial scan.
        let watching = watcher.is_some();
        tokio::select! {
            ev = rx.recv(), if watching => {
                match ev {
                    Some(Ok(ev)) if relevant(&ev) => {}
                    Some(Ok(_)) => continue,
                    Some(Err(e)) => {
                        tracing::error!(err = %e, "Error watching file");
                        continue;
                    }
                    None => continue,
                }
                // One re-read for a burst of events.
                while rx.try_recv().is_ok() {}
            }
            _ = ticker.tick() => {}
        }
        let (p, l, u) = (paths.clone(), last.clone(), up.clone());
        let Ok((groups, new_last)) = tokio::task::spawn_blocking(move || scan(&p, &l, &u)).await
        else {
            continue;
        };
        last = new_last;
        if !groups.is_empty() {
            up.send(groups);
        }
        if let Some(w) = watcher.as_mut() {
            watch_dirs(w, &paths);
        }
    }
}

/// Everything but access and metadata-only changes calls for a re-read.
fn relevant(ev: &notify::Event) -> bool {
    if ev.paths.is_empty() {
        return false;
    }
    match ev.kind {
        EventKind::Access(notify::event::AccessKind::Close(notify::event::AccessMode::Write)) => {
            true
        }
        EventKind::Access(_) => false,
        EventKind::Modify(notify::event::ModifyKind::Metadata(_)) => false,
        _ => true,
    }
}

/// Watches the directory of every pattern (`./` for a bare file name).
fn watch_dirs(w: &mut notify::RecommendedWatcher, paths: &[String]) {
    for p in paths {
        let dir = match p.rfind('/') {
            Some(i) => &p[..=i],
            None => "./",
        };
        if let Err(e) = w.watch(Path::new(dir), RecursiveMode::NonRecursive) {
            tracing::error!(path = dir, err = %e, "Error adding file watch");
        }
    }
}

/// Reads every matching file. Returns the groups to send (including empty groups for
/// sources that disappeared) and the group count per file for the next scan.
fn scan(
    patterns: &[String],
    last: &BTreeMap<String, usize>,
    up: &Updater,
) -> (Vec<TargetGroup>, BTreeMap<String, usize>) {
    let started = Instant::now();
    let m = up.mechanisms();
    let mut files: Vec<String> = Vec::new();
    for p in patterns {
        match glob::glob(p) {
            Ok(entries) => {
                for e in entries.flatten() {
                    let f = e.to_string_lossy().into_owned();
                    if !files.contains(&f) {
                        files.push(f);
                    }
                }
            }
            Err(e) => tracing::error!(glob = %p, err = %e, "Error expanding glob"),
        }
    }
    let mut out = Vec::new();
    let mut counts = BTreeMap::new();
    for f in files {
        match read_file(&f) {
            Ok((groups, mtime)) => {
                m.file_mtime.with_label_values(&[&f]).set(mtime);
                counts.insert(f, groups.len());
                out.extend(groups);
            }
            Err(e) => {
                m.file_read_errors.inc();
                tracing::error!(path = %f, err = %e, "Error reading file");
                // Keep its last good targets.
                counts.insert(f.clone(), last.get(&f).copied().unwrap_or(0));
            }
        }
    }
    for (f, &n) in last {
        let now = counts.get(f).copied();
        if now.is_none() || now.is_some_and(|c| c < n) {
            if now.is_none() {
                let _ = m.file_mtime.remove_label_values(&[f]);
            }
            for i in now.unwrap_or(0)..n {
                out.push(TargetGroup {
                    source: format!("{f}:{i}"),
                    ..TargetGroup::default()
                });
            }
        }
    }
    m.file_scan_duration
        .observe(started.elapsed().as_secs_f64());
    (out, counts)
}

/// One file's groups and its modification time (Unix seconds). `ember check config`
/// checks `file_sd_configs` files with it, so it accepts what the daemon accepts.
pub(crate) fn read_file(path: &str) -> Result<(Vec<TargetGroup>, f64), String> {
    let f = std::fs::File::open(path).map_err(|e| io_error("open", Path::new(path), &e))?;
    let meta = f
        .metadata()
        .map_err(|e| io_error("stat", Path::new(path), &e))?;
    if meta.len() > MAX_FILE_BYTES {
        return Err(format!(
            "file is {} bytes, larger than the limit of {MAX_FILE_BYTES}",
            meta.len()
        ));
    }
    let mut data = Vec::with_capacity(meta.len() as usize);
    f.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut data)
        .map_err(|e| io_error("read", Path::new(path), &e))?;
    if data.len() as u64 > MAX_FILE_BYTES {
        return Err(format!(
            "file larger than the limit of {MAX_FILE_BYTES} bytes"
        ));
    }
    let ext = Path::new(path)
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let raw = match ext.as_str() {
        "json" => parse_json(&data)?,
        "yml" | "yaml" => parse_yaml(&data)?,
        _ => return Err(format!("unhandled file extension \".{ext}\"")),
    };
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0.0, |d| d.as_secs() as f64);
    Ok((finish(raw, path, FILEPATH_LABEL), mtime))
}
