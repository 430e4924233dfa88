//! From parsed flags to the daemon's typed settings, with Prometheus's start-up checks.
//!
//! [`Options::resolve`] applies the checks Prometheus makes after parsing, with its exit
//! codes: server-only flags in agent mode and the reverse exit 3; a bad external URL or
//! CORS regex exits 2; out-of-range values exit 1. It also derives what Prometheus
//! derives: the external URL (from the hostname and listen port when not given), the
//! route prefix (from the external URL's path), and the storage options.

use std::fmt;
use std::path::PathBuf;

use ember_storage::db::{DbOptions, WalCompression};

use super::parse::Parsed;
use super::spec::{Feature, Mode, Status, KNOWN_FEATURES};

/// Lowest severity logged (`--log.level`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    Debug,
    Info,
    Warn,
    Error,
}

/// Log line format (`--log.format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Logfmt,
    Json,
}

/// The logging flags, needed before everything else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogOptions {
    pub level: LogLevel,
    pub format: LogFormat,
}

impl LogOptions {
    pub fn from_parsed(flags: &Parsed) -> LogOptions {
        let level = match flags.str("log.level") {
            Some("debug") => LogLevel::Debug,
            Some("warn") => LogLevel::Warn,
            Some("error") => LogLevel::Error,
            _ => LogLevel::Info,
        };
        let format = match flags.str("log.format") {
            Some("json") => LogFormat::Json,
            _ => LogFormat::Logfmt,
        };
        LogOptions { level, format }
    }
}

/// The URL Ember is reachable at (`--web.external-url`), split as Prometheus uses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalUrl {
    /// `http`, or empty when only a path was given.
    scheme: String,
    host: String,
    /// Empty or `/a/b`: a leading slash, no trailing one.
    path: String,
}

impl ExternalUrl {
    /// Parses `--web.external-url`; when it is empty, builds `http://<hostname>:<port>/`
    /// from the first listen address, as Prometheus does.
    pub fn resolve(raw: &str, listen_address: &str, hostname: &str) -> Result<Self, String> {
        let owned;
        let raw = if raw.is_empty() {
            let (_, port) = split_host_port(listen_address)?;
            owned = format!("http://{hostname}:{port}/");
            owned.as_str()
        } else {
            raw
        };
        if raw.starts_with(['"', '\'']) || raw.ends_with(['"', '\'']) {
            return Err("URL must not begin or end with quotes".to_string());
        }
        let (scheme, rest) = match raw.split_once("://") {
            Some((scheme, rest)) if is_scheme(scheme) => (scheme, rest),
            Some(_) => return Err(format!("invalid URL scheme in {raw:?}")),
            None => ("", raw),
        };
        let rest = rest.split(['?', '#']).next().unwrap_or_default();
        let (host, path) = if scheme.is_empty() {
            ("", rest)
        } else {
            match rest.find('/') {
                Some(i) => rest.split_at(i),
                None => (rest, ""),
            }
        };
        if host.contains(char::is_whitespace) {
            return Err(format!("invalid character in host name {host:?}"));
        }
        let trimmed = path.trim_end_matches('/');
        let path = if trimmed.is_empty() || trimmed.starts_with('/') {
            trimmed.to_string()
        } else {
            format!("/{trimmed}")
        };
        Ok(ExternalUrl {
            scheme: scheme.to_string(),
            host: host.to_string(),
            path,
        })
    }

    /// The path part: empty or `/a/b`.
    /// `http`, or empty when only a path was given.
    pub fn scheme(&self) -> &str {
        &self.scheme
    }

    /// `host` or `host:port`.
    pub fn host(&self) -> &str {
        &self.host
    }

    pub fn path(&self) -> &str {
        &self.path
    }
}

impl fmt::Display for ExternalUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.scheme.is_empty() {
            write!(f, "{}://{}", self.scheme, self.host)?;
        }
        f.write_str(&self.path)
    }
}

fn is_scheme(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
}

/// Splits `host:port` like Go's `net.SplitHostPort` (`[::1]:9090`, `:9090`).
pub fn split_host_port(address: &str) -> Result<(&str, &str), String> {
    let missing = || format!("address {address}: missing port in address");
    if let Some(rest) = address.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or_else(|| format!("address {address}: missing ']' in address"))?;
        let port = after.strip_prefix(':').ok_or_else(missing)?;
        return Ok((host, port));
    }
    let (host, port) = address.rsplit_once(':').ok_or_else(missing)?;
    if host.contains(':') {
        return Err(format!("address {address}: too many colons in address"));
    }
    Ok((host, port))
}

/// A problem with the flags that stops Ember before it starts.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OptionsError {
    #[error("The following flag(s) can not be used in agent mode: {}", go_quoted_list(.0))]
    ServerFlagsInAgentMode(Vec<String>),
    #[error("The following flag(s) can only be used in agent mode: {}", go_quoted_list(.0))]
    AgentFlagsInServerMode(Vec<String>),
    #[error("parse external URL {url:?}: {reason}")]
    ExternalUrl { url: String, reason: String },
    #[error("could not compile CORS regex string {pattern:?}: {reason}")]
    CorsRegex { pattern: String, reason: String },
    #[error("Error parsing feature list: cannot enable otlp-deltatocumulative and otlp-native-delta-ingestion features at the same time")]
    ConflictingFeatures,
    #[error("--web.search.max-limit must be non-negative; got {0} (use 0 to disable the cap)")]
    NegativeSearchLimit(i64),
    #[error("--auto-gomemlimit.ratio must be greater than 0 and less than or equal to 1.")]
    MemlimitRatio,
    #[error("--storage.agent.checkpoint-batch-size must be greater than 0.")]
    CheckpointBatchSize,
    #[error("--web.config.file={0:?}: TLS and authentication are not supported by Ember yet; refusing to serve without them")]
    WebConfigUnsupported(String),
    #[error("flag '{0}' must be set between 10MB and 256MB")]
    WalSegmentSize(&'static str),
    #[error("--storage.tsdb.samples-per-chunk must be at most 65535, got {0}")]
    SamplesPerChunk(i64),
    #[error("--storage.tsdb.head-chunks-write-buffer-size-bytes must be between 64KiB and 8MiB and a multiple of 1KiB, got {0}")]
    HeadChunksWriteBuffer(i64),
}

impl OptionsError {
    /// The process exit code, as Prometheus's for the same problem.
    pub fn exit_code(&self) -> u8 {
        match self {
            OptionsError::ServerFlagsInAgentMode(_) | OptionsError::AgentFlagsInServerMode(_) => 3,
            OptionsError::ExternalUrl { .. } | OptionsError::CorsRegex { .. } => 2,
            _ => 1,
        }
    }
}

/// Go's `%q` of a string slice: `["--a" "--b"]`.
fn go_quoted_list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| format!("{s:?}")).collect();
    format!("[{}]", quoted.join(" "))
}

/// Something about the flags worth one log line at start-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// A flag whose feature Ember does not have yet.
    InactiveFlag {
        flag: &'static str,
        feature: Feature,
    },
    /// A Go runtime flag, meaningless for Ember.
    GoRuntimeFlag { flag: &'static str },
    /// An `--enable-feature` name Prometheus knows and Ember does not implement yet.
    InactiveFeature(String),
    /// An `--enable-feature` name neither knows.
    UnknownFeature(String),
}

/// Everything the daemon needs from its command line.
#[derive(Debug, Clone)]
pub struct Options {
    pub config_file: PathBuf,
    /// Whether `--config.file` was given. Only the default path falls back to the built-in
    /// configuration when the file is missing.
    pub config_file_given: bool,
    pub listen_addresses: Vec<String>,
    pub external_url: ExternalUrl,
    /// `/` or `/a/b`: where every HTTP endpoint is served.
    pub route_prefix: String,
    pub enable_lifecycle: bool,
    pub agent_mode: bool,
    pub storage: DbOptions,
    /// Every flag's value, for the flags status endpoint and the start-up notices.
    pub flags: Parsed,
}

impl Options {
    /// Checks and derives the settings; `hostname` is used for the default external URL.
    pub fn resolve(flags: Parsed, hostname: &str) -> Result<Options, OptionsError> {
        let features = enabled_features(&flags);
        if features.iter().any(|f| f == "otlp-deltatocumulative")
            && features.iter().any(|f| f == "otlp-native-delta-ingestion")
        {
            return Err(OptionsError::ConflictingFeatures);
        }
        let search_limit = flags.int("web.search.max-limit").unwrap_or(0);
        if search_limit < 0 {
            return Err(OptionsError::NegativeSearchLimit(search_limit));
        }
        let agent_mode = flags.bool("agent");
        check_mode(&flags, agent_mode)?;
        if agent_mode
            && flags
                .int("storage.agent.checkpoint-batch-size")
                .unwrap_or(1)
                <= 0
        {
            return Err(OptionsError::CheckpointBatchSize);
        }
        let ratio = flags.float("auto-gomemlimit.ratio").unwrap_or(0.9);
        if !(ratio > 0.0 && ratio <= 1.0) {
            return Err(OptionsError::MemlimitRatio);
        }
        let web_config = flags.str("web.config.file").unwrap_or_default();
        if !web_config.is_empty() {
            return Err(OptionsError::WebConfigUnsupported(web_config.to_string()));
        }

        let listen_addresses = flags.list("web.listen-address").to_vec();
        let raw_url = flags.str("web.external-url").unwrap_or_default();
        let first_address = listen_addresses.first().map_or("", String::as_str);
        let external_url =
            ExternalUrl::resolve(raw_url, first_address, hostname).map_err(|reason| {
                OptionsError::ExternalUrl {
                    url: raw_url.to_string(),
                    reason,
                }
            })?;
        // Compiled here only to fail early, as Prometheus does; the HTTP API uses it.
        let cors = flags.str("web.cors.origin").unwrap_or(".*");
        cors_regex(cors).map_err(|e| OptionsError::CorsRegex {
            pattern: cors.to_string(),
            reason: e.to_string(),
        })?;
        let prefix = match flags.str("web.route-prefix") {
            Some(p) if !p.is_empty() => p,
            _ => external_url.path(),
        };
        let route_prefix = format!("/{}", prefix.trim_matches('/'));

        Ok(Options {
            config_file: PathBuf::from(flags.str("config.file").unwrap_or("prometheus.yml")),
            config_file_given: flags.is_given("config.file"),
            listen_addresses,
            external_url,
            route_prefix,
            enable_lifecycle: flags.bool("web.enable-lifecycle"),
            agent_mode,
            storage: storage_options(&flags, agent_mode)?,
            flags,
        })
    }

    /// One notice per flag given whose feature Ember lacks, and per `--enable-feature`
    /// name, each once.
    pub fn notices(&self) -> Vec<Notice> {
        let mut notices = Vec::new();
        for spec in self.flags.given_flags() {
            match spec.status {
                Status::Active => {}
                Status::GoRuntime => notices.push(Notice::GoRuntimeFlag { flag: spec.name }),
                // Reported per feature name below.
                Status::Planned(Feature::Experimental) => {}
                // `--no-agent` asks for what Ember does.
                Status::Planned(Feature::AgentMode) if spec.name == "agent" && !self.agent_mode => {
                }
                Status::Planned(feature) => notices.push(Notice::InactiveFlag {
                    flag: spec.name,
                    feature,
                }),
            }
        }
        for name in enabled_features(&self.flags) {
            let notice = if KNOWN_FEATURES.contains(&name.as_str()) {
                Notice::InactiveFeature(name)
            } else {
                Notice::UnknownFeature(name)
            };
            if !notices.contains(&notice) {
                notices.push(notice);
            }
        }
        notices
    }
}

/// `--web.cors.origin` as Prometheus reads it: fully anchored, `.` matching newlines.
pub fn cors_regex(pattern: &str) -> Result<regex::Regex, regex::Error> {
    regex::Regex::new(&format!("^(?s:{pattern})$"))
}

/// The names in every `--enable-feature`, split at commas, empty ones dropped.
fn enabled_features(flags: &Parsed) -> Vec<String> {
    flags
        .list("enable-feature")
        .iter()
        .flat_map(|v| v.split(','))
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// Rejects server-only flags in agent mode and agent-only flags in server mode.
fn check_mode(flags: &Parsed, agent_mode: bool) -> Result<(), OptionsError> {
    let misplaced = |mode: Mode| -> Vec<String> {
        flags
            .given_flags()
            .filter(|f| f.mode == mode)
            .map(|f| format!("--{}", f.name))
            .collect()
    };
    if agent_mode {
        let wrong = misplaced(Mode::ServerOnly);
        if !wrong.is_empty() {
            return Err(OptionsError::ServerFlagsInAgentMode(wrong));
        }
    } else {
        let wrong = misplaced(Mode::AgentOnly);
        if !wrong.is_empty() {
            return Err(OptionsError::AgentFlagsInServerMode(wrong));
        }
    }
    Ok(())
}

/// The storage flags as [`DbOptions`]. Zero or negative values mean "the default", as in
/// Prometheus's TSDB; the rest are range-checked here so the error names the flag.
fn storage_options(flags: &Parsed, agent_mode: bool) -> Result<DbOptions, OptionsError> {
    let prefix = if agent_mode {
        "storage.agent"
    } else {
        "storage.tsdb"
    };
    let flag = |suffix: &str| format!("{prefix}.{suffix}");
    let mut db = DbOptions::new(flags.str(&flag("path")).unwrap_or("data/"));
    db.no_lockfile = flags.bool(&flag("no-lockfile"));

    let segment_flag = if agent_mode {
        "storage.agent.wal-segment-size"
    } else {
        "storage.tsdb.wal-segment-size"
    };
    if let Some(size) = flags.bytes(segment_flag).filter(|&s| s != 0) {
        if !(10 << 20..=256 << 20).contains(&size) {
            return Err(OptionsError::WalSegmentSize(segment_flag));
        }
        db.wal_segment_size = size as u64;
    }

    db.wal_compression = if !flags.bool(&flag("wal-compression")) {
        WalCompression::None
    } else if flags.str(&flag("wal-compression-type")) == Some("zstd") {
        WalCompression::Zstd
    } else {
        WalCompression::Snappy
    };

    if let Some(d) = flags.duration("storage.tsdb.min-block-duration") {
        let ms = i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        if ms > 0 {
            db.min_block_duration = ms;
        }
    }
    if let Some(n) = flags
        .int("storage.tsdb.samples-per-chunk")
        .filter(|&n| n > 0)
    {
        db.samples_per_chunk = u16::try_from(n).map_err(|_| OptionsError::SamplesPerChunk(n))?;
    }
    let buffer_flag = "storage.tsdb.head-chunks-write-buffer-size-bytes";
    if let Some(n) = flags.bytes(buffer_flag).filter(|&n| n > 0) {
        if !(64 << 10..=8 << 20).contains(&n) || n % 1024 != 0 {
            return Err(OptionsError::HeadChunksWriteBuffer(n));
        }
        db.head_chunks_write_buffer_size = n as usize;
    }
    Ok(db)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::parse::{parse, Command};

    fn resolve(args: &[&str]) -> Result<Options, OptionsError> {
        match parse(args) {
            Ok(Command::Run(p)) => Options::resolve(p, "myhost"),
            other => panic!("{args:?} parsed to {other:?}"),
        }
    }

    fn ok(args: &[&str]) -> Options {
        resolve(args).unwrap_or_else(|e| panic!("{args:?}: {e}"))
    }

    #[test]
    fn defaults() {
        let o = ok(&[]);
        assert_eq!(o.config_file, PathBuf::from("prometheus.yml"));
        assert!(!o.config_file_given);
        assert_eq!(o.listen_addresses, ["0.0.0.0:9090"]);
        assert_eq!(o.external_url.to_string(), "http://myhost:9090");
        assert_eq!(o.route_prefix, "/");
        assert!(!o.agent_mode);
        assert_eq!(
            LogOptions::from_parsed(&o.flags),
            LogOptions {
                level: LogLevel::Info,
                format: LogFormat::Logfmt
            }
        );
        let d = DbOptions::new("data/");
        assert_eq!(o.storage.dir, d.dir);
        assert_eq!(o.storage.min_block_duration, d.min_block_duration);
        assert_eq!(o.storage.wal_segment_size, d.wal_segment_size);
        assert_eq!(o.storage.wal_compression, WalCompression::Snappy);
        assert_eq!(o.storage.samples_per_chunk, 120);
        assert_eq!(o.storage.head_chunks_write_buffer_size, 4 << 20);
        assert!(!o.storage.no_lockfile);
        assert!(o.notices().is_empty());
        // The default CORS pattern matches anything, newlines included; others are
        // anchored at both ends.
        assert!(cors_regex(".*").unwrap().is_match("https://a.example\nx"));
        let r = cors_regex("https?://(a|b)\\.com").unwrap();
        assert!(r.is_match("https://a.com"));
        assert!(!r.is_match("https://a.com.evil"));
        assert!(!r.is_match("xhttp://b.com"));
    }

    #[test]
    fn storage_flags_map_into_db_options() {
        let o = ok(&[
            "--storage.tsdb.path=/prometheus",
            "--storage.tsdb.min-block-duration=30m",
            "--storage.tsdb.wal-segment-size=64MB",
            "--storage.tsdb.wal-compression-type=zstd",
            "--storage.tsdb.no-lockfile",
            "--storage.tsdb.samples-per-chunk=240",
            "--storage.tsdb.head-chunks-write-buffer-size-bytes=1MB",
        ]);
        assert_eq!(o.storage.dir, PathBuf::from("/prometheus"));
        assert_eq!(o.storage.min_block_duration, 30 * 60 * 1000);
        assert_eq!(o.storage.wal_segment_size, 64 << 20);
        assert_eq!(o.storage.wal_compression, WalCompression::Zstd);
        assert!(o.storage.no_lockfile);
        assert_eq!(o.storage.samples_per_chunk, 240);
        assert_eq!(o.storage.head_chunks_write_buffer_size, 1 << 20);

        let o = ok(&[
            "--no-storage.tsdb.wal-compression",
            "--storage.tsdb.wal-compression-type=zstd",
        ]);
        assert_eq!(o.storage.wal_compression, WalCompression::None);
        // Zero means the default, as in Prometheus.
        let o = ok(&[
            "--storage.tsdb.samples-per-chunk=0",
            "--storage.tsdb.wal-segment-size=0",
        ]);
        assert_eq!(o.storage.samples_per_chunk, 120);
        assert_eq!(o.storage.wal_segment_size, 128 << 20);
    }

    #[test]
    fn storage_ranges_are_checked() {
        assert_eq!(
            resolve(&["--storage.tsdb.wal-segment-size=1MB"]).unwrap_err(),
            OptionsError::WalSegmentSize("storage.tsdb.wal-segment-size")
        );
        assert!(resolve(&["--storage.tsdb.wal-segment-size=257MB"]).is_err());
        assert!(resolve(&["--storage.tsdb.wal-segment-size=256MB"]).is_ok());
        assert_eq!(
            resolve(&["--storage.tsdb.samples-per-chunk=70000"]).unwrap_err(),
            OptionsError::SamplesPerChunk(70000)
        );
        for bad in ["1000", "32KiB", "9MiB", "65537"] {
            let arg = format!("--storage.tsdb.head-chunks-write-buffer-size-bytes={bad}");
            assert!(
                matches!(
                    resolve(&[&arg]),
                    Err(OptionsError::HeadChunksWriteBuffer(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn agent_mode_uses_the_agent_storage_flags_and_rejects_server_ones() {
        let o = ok(&[
            "--agent",
            "--storage.agent.path=/wal",
            "--storage.agent.no-lockfile",
        ]);
        assert!(o.agent_mode);
        assert_eq!(o.storage.dir, PathBuf::from("/wal"));
        assert!(o.storage.no_lockfile);
        assert_eq!(
            o.notices(),
            [Notice::InactiveFlag {
                flag: "agent",
                feature: Feature::AgentMode
            }]
        );
        let e = resolve(&["--agent", "--storage.tsdb.path=x", "--query.timeout=1m"]).unwrap_err();
        assert_eq!(e.exit_code(), 3);
        assert_eq!(
            e.to_string(),
            "The following flag(s) can not be used in agent mode: [\"--storage.tsdb.path\" \"--query.timeout\"]"
        );
        let e = resolve(&["--storage.agent.path=x"]).unwrap_err();
        assert_eq!(e.exit_code(), 3);
        assert!(e.to_string().contains("can only be used in agent mode"));
    }

    #[test]
    fn external_url_and_route_prefix() {
        let o = ok(&["--web.listen-address=127.0.0.1:9191"]);
        assert_eq!(o.external_url.to_string(), "http://myhost:9191");
        let o = ok(&["--web.external-url=https://example.com/prom/"]);
        assert_eq!(o.external_url.to_string(), "https://example.com/prom");
        assert_eq!(o.route_prefix, "/prom");
        let o = ok(&[
            "--web.external-url=https://example.com/prom/",
            "--web.route-prefix=inner/",
        ]);
        assert_eq!(o.route_prefix, "/inner");
        let o = ok(&["--web.external-url=sub/path"]);
        assert_eq!(o.route_prefix, "/sub/path");
        let e = resolve(&["--web.external-url='http://x'"]).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("must not begin or end with quotes"));
        let e = resolve(&["--web.listen-address=localhost"]).unwrap_err();
        assert!(e.to_string().contains("missing port in address"), "{e}");
        assert_eq!(split_host_port("[::1]:9090"), Ok(("::1", "9090")));
        assert_eq!(split_host_port(":9090"), Ok(("", "9090")));
        assert!(split_host_port("a:b:c").is_err());
    }

    #[test]
    fn startup_checks_with_prometheus_exit_codes() {
        let e = resolve(&["--web.cors.origin=(unclosed"]).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e
            .to_string()
            .starts_with("could not compile CORS regex string"));
        assert_eq!(
            resolve(&["--web.search.max-limit=-1"]).unwrap_err(),
            OptionsError::NegativeSearchLimit(-1)
        );
        assert_eq!(
            resolve(&["--auto-gomemlimit.ratio=1.5"]).unwrap_err(),
            OptionsError::MemlimitRatio
        );
        assert_eq!(
            resolve(&["--enable-feature=otlp-deltatocumulative,otlp-native-delta-ingestion"])
                .unwrap_err(),
            OptionsError::ConflictingFeatures
        );
        let e = resolve(&["--web.config.file=web.yml"]).unwrap_err();
        assert_eq!(e.exit_code(), 1);
        assert!(e.to_string().contains("not supported"));
        // An empty web config file is Prometheus's default and fine.
        ok(&["--web.config.file="]);
    }

    #[test]
    fn notices_name_each_inactive_flag_and_feature_once() {
        let o = ok(&[
            "--rules.alert.resend-delay=1m",
            "--web.listen-address=127.0.0.1:1",
            "--web.listen-address=127.0.0.1:2",
            "--no-auto-gomemlimit",
            "--enable-feature=exemplar-storage,no-such-thing",
            "--enable-feature=exemplar-storage",
            "--no-agent",
        ]);
        assert_eq!(
            o.notices(),
            [
                Notice::GoRuntimeFlag {
                    flag: "auto-gomemlimit"
                },
                Notice::InactiveFlag {
                    flag: "rules.alert.resend-delay",
                    feature: Feature::Rules
                },
                Notice::InactiveFeature("exemplar-storage".into()),
                Notice::UnknownFeature("no-such-thing".into()),
            ]
        );
    }
}
