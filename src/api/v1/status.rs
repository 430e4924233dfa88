//! `/api/v1/status/*`: build information, the configuration, the flags, runtime
//! information, TSDB statistics and the WAL replay's progress.
//!
//! `buildinfo` reports a Prometheus 3 version (with Ember's own after a `+`), so that
//! Grafana, which reads the version and treats an answer without `features` as a
//! Prometheus, enables everything a current Prometheus supports.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::SystemTime;

use axum::extract::State;
use axum::response::Response;

use super::json::{self, write_int, write_str, Envelope};
use super::params::ApiRequest;
use super::response::{reply, ApiError};
use crate::api::AppState;
use crate::build_info::BUILD;
use crate::cli::parse::{Parsed, Value};
use crate::cli::spec::{FlagSpec, Kind, FLAGS};
use crate::cli::units::{format_base2_bytes, format_duration, format_go_duration};

/// The Prometheus release whose behaviour Ember follows.
pub const PROMETHEUS_VERSION: &str = "3.14.0";

/// The most entries `/api/v1/status/tsdb` lists (Prometheus's `maxTSDBLimit`).
const MAX_TSDB_LIMIT: usize = 10_000;

fn ok(write: impl FnOnce(&mut Vec<u8>)) -> Result<Vec<u8>, ApiError> {
    let mut e = Envelope::new();
    write(e.data());
    Ok(e.finish(&[], &[]))
}

/// The version string `buildinfo` reports: `3.14.0+ember.0.1.0`.
pub fn version() -> String {
    format!("{PROMETHEUS_VERSION}+ember.{}", BUILD.version)
}

/// `/api/v1/status/buildinfo`.
pub async fn buildinfo(req: ApiRequest) -> Response {
    let body = ok(|out| {
        out.extend_from_slice(br#"{"version":"#);
        write_str(out, &version());
        out.extend_from_slice(br#","revision":"#);
        write_str(out, BUILD.revision);
        out.extend_from_slice(br#","branch":"#);
        write_str(out, BUILD.branch);
        out.extend_from_slice(br#","buildUser":"#);
        write_str(out, BUILD.build_user);
        out.extend_from_slice(br#","buildDate":"#);
        write_str(out, BUILD.build_date);
        out.extend_from_slice(br#","goVersion":"#);
        write_str(out, BUILD.rustc);
        out.push(b'}');
    });
    reply(body, req.encoding)
}

/// `/api/v1/status/config`: the configuration file as last loaded.
pub async fn config(State(state): State<Arc<AppState>>, req: ApiRequest) -> Response {
    let yaml = state.api_v1.config_yaml();
    let body = ok(|out| {
        out.extend_from_slice(br#"{"yaml":"#);
        write_str(out, &yaml);
        out.push(b'}');
    });
    reply(body, req.encoding)
}

/// `/api/v1/status/flags`: every flag's value, as Prometheus prints it, by name.
pub async fn flags(State(state): State<Arc<AppState>>, req: ApiRequest) -> Response {
    let mut entries: Vec<(&str, String)> = FLAGS
        .iter()
        .map(|spec| (spec.name, flag_text(spec, &state.options.flags)))
        .collect();
    entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let body = ok(|out| {
        out.push(b'{');
        for (i, (name, value)) in entries.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_str(out, name);
            out.push(b':');
            write_str(out, value);
        }
        out.push(b'}');
    });
    reply(body, req.encoding)
}

/// A flag's value as kingpin's `Value.String()` prints it.
pub fn flag_text(spec: &FlagSpec, flags: &Parsed) -> String {
    match (flags.value(spec.name), spec.kind) {
        (Value::Bool(b), _) => b.to_string(),
        (Value::Str(s), _) => s.clone(),
        (Value::List(items), _) => items.join(","),
        (Value::Int(n), _) => n.to_string(),
        (Value::Float(f), _) => ember_storage::numfmt::format_g(*f),
        (Value::Duration(d), Kind::GoDuration) => format_go_duration(*d),
        (Value::Duration(d), _) => format_duration(*d),
        (Value::Bytes(n), Kind::ByteCount) => n.to_string(),
        (Value::Bytes(n), _) => format_base2_bytes(*n),
        (Value::Unset, Kind::Bool) => "false".to_string(),
        (Value::Unset, Kind::Duration) => "0s".to_string(),
        (Value::Unset, Kind::GoDuration) => "0s".to_string(),
        (Value::Unset, Kind::Bytes) => "0B".to_string(),
        (Value::Unset, Kind::Int | Kind::Int64 | Kind::Float | Kind::ByteCount) => "0".to_string(),
        (Value::Unset, _) => String::new(),
    }
}

/// `/api/v1/status/runtimeinfo`.
pub async fn runtimeinfo(State(state): State<Arc<AppState>>, req: ApiRequest) -> Response {
    // Read from the self-metrics, as Prometheus does.
    let mut reload_success = false;
    let mut last_config = 0i64;
    let mut corruptions = 0i64;
    for family in state.registry.gather() {
        let value = || {
            family.get_metric().first().map_or(0.0, |m| {
                if m.get_gauge().is_some() {
                    m.get_gauge().value()
                } else {
                    m.get_counter().value()
                }
            })
        };
        match family.name() {
            "prometheus_config_last_reload_successful" => reload_success = value() != 0.0,
            "prometheus_config_last_reload_success_timestamp_seconds" => {
                last_config = value() as i64
            }
            "prometheus_tsdb_wal_corruptions_total" => corruptions = value() as i64,
            _ => {}
        }
    }
    let last_config_time = if last_config >= 0 {
        SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(last_config as u64)
    } else {
        SystemTime::UNIX_EPOCH
    };
    let v1 = &state.api_v1;
    let body = ok(|out| {
        out.extend_from_slice(br#"{"startTime":"#);
        json::write_time(out, v1.start_time);
        out.extend_from_slice(br#","CWD":"#);
        write_str(out, &v1.cwd);
        out.extend_from_slice(br#","hostname":"#);
        write_str(out, &crate::host::hostname());
        out.extend_from_slice(br#","serverTime":"#);
        json::write_time(out, SystemTime::now());
        out.extend_from_slice(br#","reloadConfigSuccess":"#);
        out.extend_from_slice(if reload_success { b"true" } else { b"false" });
        out.extend_from_slice(br#","lastConfigTime":"#);
        json::write_time(out, last_config_time);
        out.extend_from_slice(br#","corruptionCount":"#);
        write_int(out, corruptions);
        // Ember has no goroutines; its threads are the nearest thing.
        out.extend_from_slice(br#","goroutineCount":"#);
        write_int(out, thread_count());
        out.extend_from_slice(br#","GOMAXPROCS":"#);
        write_int(
            out,
            std::thread::available_parallelism().map_or(1, |n| n.get()),
        );
        // Go's default: no memory limit.
        out.extend_from_slice(br#","GOMEMLIMIT":9223372036854775807,"GOGC":"#);
        write_str(out, &std::env::var("GOGC").unwrap_or_default());
        out.extend_from_slice(br#","GODEBUG":"#);
        write_str(out, &std::env::var("GODEBUG").unwrap_or_default());
        out.extend_from_slice(br#","storageRetention":"#);
        write_str(out, &storage_retention(&state.options.flags));
        out.push(b'}');
    });
    reply(body, req.encoding)
}

/// The process's threads (`Threads:` in `/proc/self/status`), 0 if unknown.
fn thread_count() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Threads:"))
                .and_then(|n| n.trim().parse().ok())
        })
        .unwrap_or(0)
}

/// Prometheus's `storageRetention`: `15d`, `512MiB`, or `15d or 512MiB`; 15 days when
/// neither flag is set.
pub fn storage_retention(flags: &Parsed) -> String {
    let time = flags
        .duration("storage.tsdb.retention.time")
        .filter(|d| !d.is_zero());
    let size = flags
        .bytes("storage.tsdb.retention.size")
        .filter(|&b| b != 0);
    let time = match (time, size) {
        (None, None) => Some(std::time::Duration::from_secs(15 * 24 * 3600)),
        (t, _) => t,
    };
    let mut out = time.map(format_duration).unwrap_or_default();
    if let Some(b) = size {
        if !out.is_empty() {
            out.push_str(" or ");
        }
        out.push_str(&format_base2_bytes(b));
    }
    out
}

/// `/api/v1/status/tsdb`: head statistics and the top cardinality lists (`limit`, 10 by
/// default).
pub async fn tsdb(State(state): State<Arc<AppState>>, req: ApiRequest) -> Response {
    let limit = match req.params.get("limit") {
        "" => 10,
        s => match s.parse::<i64>() {
            Ok(n) if n >= 1 => {
                if n as u64 > MAX_TSDB_LIMIT as u64 {
                    return reply(
                        Err(ApiError::bad_data(format!(
                            "limit must not exceed {MAX_TSDB_LIMIT}"
                        ))),
                        req.encoding,
                    );
                }
                n as usize
            }
            _ => {
                return reply(
                    Err(ApiError::bad_data("limit must be a positive number")),
                    req.encoding,
                )
            }
        },
    };
    let Some(db) = state.db().cloned() else {
        return reply(
            Err(ApiError::unavailable("the storage is not open yet")),
            req.encoding,
        );
    };
    let encoding = req.encoding;
    let result = tokio::task::spawn_blocking(move || {
        let head = db.head();
        let stats = head.cardinality_stats(limit);
        let h = head.stats();
        ok(|out| {
            out.extend_from_slice(br#"{"headStats":{"numSeries":"#);
            write_int(out, stats.num_series);
            out.extend_from_slice(br#","numLabelPairs":"#);
            write_int(out, stats.num_label_pairs);
            out.extend_from_slice(br#","chunkCount":"#);
            write_int(out, h.chunks);
            out.extend_from_slice(br#","minTime":"#);
            write_int(out, h.min_time);
            out.extend_from_slice(br#","maxTime":"#);
            write_int(out, h.max_time);
            out.extend_from_slice(br#"},"seriesCountByMetricName":"#);
            write_stats(out, &stats.series_count_by_metric_name);
            out.extend_from_slice(br#","labelValueCountByLabelName":"#);
            write_stats(out, &stats.label_value_count_by_label_name);
            out.extend_from_slice(br#","memoryInBytesByLabelName":"#);
            write_stats(out, &stats.memory_in_bytes_by_label_name);
            out.extend_from_slice(br#","seriesCountByLabelValuePair":"#);
            write_stats(out, &stats.series_count_by_label_value_pair);
            out.push(b'}');
        })
    })
    .await
    .unwrap_or_else(|e| Err(ApiError::internal(e.to_string())));
    reply(result, encoding)
}

fn write_stats(out: &mut Vec<u8>, items: &[(String, u64)]) {
    out.push(b'[');
    for (i, (name, value)) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(br#"{"name":"#);
        write_str(out, name);
        out.extend_from_slice(br#","value":"#);
        write_int(out, *value);
        out.push(b'}');
    }
    out.push(b']');
}

/// `/api/v1/status/tsdb/blocks`: Ember has no persistent blocks yet.
pub async fn tsdb_blocks(req: ApiRequest) -> Response {
    reply(
        ok(|out| out.extend_from_slice(br#"{"blocks":[]}"#)),
        req.encoding,
    )
}

/// `/api/v1/status/walreplay`: the segments of the start-up WAL replay; served while the
/// server is starting, which is when it is useful.
pub async fn walreplay(State(state): State<Arc<AppState>>, req: ApiRequest) -> Response {
    let p = &state.api_v1.replay;
    let max = p.last_segment.load(Ordering::Acquire);
    // Once replay is over every segment has been read, as Prometheus reports it.
    let current = if p.done.load(Ordering::Acquire) {
        max
    } else {
        p.current_segment.load(Ordering::Acquire)
    };
    let body = ok(|out| {
        out.extend_from_slice(br#"{"min":"#);
        write_int(out, p.first_segment.load(Ordering::Acquire));
        out.extend_from_slice(br#","max":"#);
        write_int(out, max);
        out.extend_from_slice(br#","current":"#);
        write_int(out, current);
        out.push(b'}');
    });
    reply(body, req.encoding)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(args: &[&str]) -> Parsed {
        match crate::cli::parse(args).unwrap() {
            crate::cli::Command::Run(p) => p,
            other => panic!("{other:?}"),
        }
    }

    /// Values as a real Prometheus 2.42 prints them in `/api/v1/status/flags`
    /// (`"query.lookback-delta": "5m"`, `"query.timeout": "2m"`,
    /// `"storage.tsdb.retention.size": "0B"`, `"web.enable-admin-api": "false"`,
    /// `"enable-feature": ""`).
    #[test]
    fn flags_print_as_prometheus_prints_them() {
        let flags = parsed(&[
            "--query.timeout=90s",
            "--web.listen-address=:1",
            "--web.listen-address=:2",
        ]);
        let text = |name: &str| {
            let spec = FLAGS.iter().find(|s| s.name == name).unwrap();
            flag_text(spec, &flags)
        };
        assert_eq!(text("query.lookback-delta"), "5m");
        assert_eq!(text("query.timeout"), "1m30s");
        assert_eq!(text("storage.tsdb.retention.size"), "0B");
        assert_eq!(text("storage.tsdb.retention.time"), "0s");
        assert_eq!(text("web.enable-admin-api"), "false");
        assert_eq!(text("enable-feature"), "");
        assert_eq!(text("query.max-samples"), "50000000");
        assert_eq!(text("web.listen-address"), ":1,:2");
        assert_eq!(text("storage.tsdb.min-block-duration"), "2h");
    }

    #[test]
    fn retention_reads_as_prometheus_reports_it() {
        assert_eq!(storage_retention(&parsed(&[])), "15d");
        assert_eq!(
            storage_retention(&parsed(&["--storage.tsdb.retention.time=30d"])),
            "30d"
        );
        assert_eq!(
            storage_retention(&parsed(&["--storage.tsdb.retention.size=512MB"])),
            "512MiB"
        );
        assert_eq!(
            storage_retention(&parsed(&[
                "--storage.tsdb.retention.time=1w",
                "--storage.tsdb.retention.size=1GB"
            ])),
            "1w or 1GiB"
        );
    }

    #[test]
    fn version_is_a_semver_prometheus_3_version() {
        let v = version();
        let core = v.split('+').next().unwrap();
        let parts: Vec<u64> = core.split('.').map(|p| p.parse().unwrap()).collect();
        assert_eq!(parts.len(), 3);
        assert_eq!(parts[0], 3);
        assert!(v.contains("+ember."));
    }
}
