//! The table of every command-line flag Ember accepts.
//!
//! The names, value notations, defaults, hidden-ness and server/agent restrictions are
//! Prometheus 3's (`cmd/prometheus/main.go` and `docs/command-line/prometheus.md`), so any
//! Prometheus command line is also an Ember command line. Each entry also says whether the
//! flag does something in Ember today ([`Status`]); a flag whose feature has not landed is
//! accepted and logged once as such. The help texts are Ember's own.

/// How a flag's value is written, and how it is checked when parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `--flag` sets true, `--no-flag` sets false; takes no value.
    Bool,
    String,
    /// A string that may be given several times; each occurrence adds a value.
    Strings,
    /// A number parsed as a float and truncated, as kingpin's `IntVar` does (`5e7`).
    Int,
    /// An integer with an optional `0x`/`0o`/`0b` prefix (kingpin's `Int64Var`).
    Int64,
    Float,
    /// A Prometheus duration: `15d`, `2h30m`.
    Duration,
    /// A Go duration: `2ms`, `1.5h`.
    GoDuration,
    /// A base-2 byte size with a unit: `512MB`.
    Bytes,
    /// A byte count, plain (`4194304`) or with a unit (`4MB`). Ember-only flags.
    ByteCount,
    /// One of a fixed set of words.
    Enum(&'static [&'static str]),
    /// `debug`, `info`, `warn` or `error`, in any case.
    LogLevel,
    /// `logfmt` or `json`.
    LogFormat,
    /// Repeatable; each value one of [`REMOTE_WRITE_MESSAGES`], no duplicates.
    RemoteWriteMessages,
}

impl Kind {
    /// Whether the flag may be given more than once.
    pub fn is_repeatable(self) -> bool {
        matches!(self, Kind::Strings | Kind::RemoteWriteMessages)
    }
}

/// The remote-write protobuf messages the receiver can accept.
pub const REMOTE_WRITE_MESSAGES: [&str; 2] =
    ["prometheus.WriteRequest", "io.prometheus.write.v2.Request"];

/// Where a flag may be used; Prometheus refuses server flags in agent mode and agent
/// flags in server mode (exit code 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Any,
    ServerOnly,
    AgentOnly,
}

/// What a flag does in Ember today.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Implemented.
    Active,
    /// Accepted and validated, but its feature has not landed in Ember yet.
    Planned(Feature),
    /// Tunes the Go runtime; Ember has no counterpart, so it is accepted and ignored.
    GoRuntime,
}

/// A part of Prometheus that Ember has not implemented yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feature {
    HttpApi,
    RemoteWriteReceiver,
    HttpServerLimits,
    Scraping,
    Rules,
    Alerting,
    Blocks,
    RemoteStorage,
    WebUi,
    AgentMode,
    Experimental,
}

impl Feature {
    /// A short name for logs and documentation.
    pub fn describe(self) -> &'static str {
        match self {
            Feature::HttpApi => "HTTP API",
            Feature::RemoteWriteReceiver => "remote-write and OTLP receivers",
            Feature::HttpServerLimits => "HTTP server timeouts and limits",
            Feature::Scraping => "configuration and scraping",
            Feature::Rules => "recording and alerting rules",
            Feature::Alerting => "Alertmanager notifications",
            Feature::Blocks => "persistent blocks, compaction and retention",
            Feature::RemoteStorage => "remote-write sender and remote read",
            Feature::WebUi => "web UI",
            Feature::AgentMode => "agent mode",
            Feature::Experimental => "experimental feature",
        }
    }
}

/// One command-line flag.
#[derive(Debug, Clone, Copy)]
pub struct FlagSpec {
    /// The long name, without the leading `--`.
    pub name: &'static str,
    pub help: &'static str,
    pub kind: Kind,
    /// The value used when the flag is not given. Repeatable flags list theirs
    /// comma-separated.
    pub default: Option<&'static str>,
    /// Shown in `--help` instead of the default, as `--flag=<URL>`.
    pub placeholder: Option<&'static str>,
    pub short: Option<char>,
    /// Left out of `--help`, as Prometheus hides it.
    pub hidden: bool,
    pub mode: Mode,
    pub status: Status,
}

const fn flag(name: &'static str, kind: Kind, help: &'static str) -> FlagSpec {
    FlagSpec {
        name,
        help,
        kind,
        default: None,
        placeholder: None,
        short: None,
        hidden: false,
        mode: Mode::Any,
        status: Status::Active,
    }
}

impl FlagSpec {
    const fn default(mut self, value: &'static str) -> Self {
        self.default = Some(value);
        self
    }
    const fn placeholder(mut self, value: &'static str) -> Self {
        self.placeholder = Some(value);
        self
    }
    const fn short(mut self, c: char) -> Self {
        self.short = Some(c);
        self
    }
    const fn hidden(mut self) -> Self {
        self.hidden = true;
        self
    }
    const fn server(mut self) -> Self {
        self.mode = Mode::ServerOnly;
        self
    }
    const fn agent(mut self) -> Self {
        self.mode = Mode::AgentOnly;
        self
    }
    const fn planned(mut self, feature: Feature) -> Self {
        self.status = Status::Planned(feature);
        self
    }
    const fn go_runtime(mut self) -> Self {
        self.status = Status::GoRuntime;
        self
    }
}

use Feature::*;
use Kind::*;

const COMPRESSION: Kind = Enum(&["snappy", "zstd"]);

/// Every flag, in Prometheus's order (which is also `--help`'s order).
pub static FLAGS: &[FlagSpec] = &[
    flag(
        "help",
        Bool,
        "Show this help (also --help-long and --help-man).",
    )
    .short('h'),
    flag("help-long", Bool, "Show the help.").hidden(),
    flag("help-man", Bool, "Show the help.").hidden(),
    flag("version", Bool, "Show the version and build information."),
    flag(
        "config.file",
        String,
        "Path of the Prometheus configuration file. When this flag is not given and \
         prometheus.yml does not exist, a built-in configuration that scrapes Ember itself \
         is used.",
    )
    .default("prometheus.yml"),
    flag(
        "config.auto-reload",
        Bool,
        "Reload the configuration file whenever its contents change.",
    )
    .default("false")
    .planned(Scraping),
    flag(
        "config.auto-reload-interval",
        Duration,
        "How often to check the configuration file for changes with --config.auto-reload.",
    )
    .default("30s")
    .planned(Scraping),
    flag(
        "web.listen-address",
        Strings,
        "Address (host:port) to serve the API, UI and /metrics on. Repeat the flag to \
         listen on several addresses.",
    )
    .default("0.0.0.0:9090"),
    flag(
        "auto-gomaxprocs",
        Bool,
        "Go runtime setting; accepted for compatibility and ignored.",
    )
    .default("true")
    .go_runtime(),
    flag(
        "auto-gomemlimit",
        Bool,
        "Go runtime setting; accepted for compatibility and ignored.",
    )
    .default("true")
    .go_runtime(),
    flag(
        "auto-gomemlimit.ratio",
        Float,
        "Go runtime setting; accepted for compatibility (must be in (0, 1]) and ignored.",
    )
    .default("0.9")
    .go_runtime(),
    flag(
        "auto-gomemlimit.refresh-interval",
        Duration,
        "Go runtime setting; accepted for compatibility and ignored.",
    )
    .default("0s")
    .go_runtime(),
    flag(
        "web.config.file",
        String,
        "[EXPERIMENTAL] Web configuration file enabling TLS or authentication. Not \
         supported yet: Ember refuses to start with one rather than serve without the \
         protection it asks for.",
    )
    .default(""),
    flag(
        "web.read-timeout",
        Duration,
        "Longest time to read a request before the connection is closed.",
    )
    .default("5m")
    .planned(HttpServerLimits),
    flag(
        "web.max-connections",
        Int,
        "Most simultaneous HTTP connections over all listeners.",
    )
    .default("512")
    .planned(HttpServerLimits),
    flag(
        "web.max-notifications-subscribers",
        Int,
        "Most clients receiving live UI notifications at once.",
    )
    .default("16")
    .planned(WebUi),
    flag(
        "web.external-url",
        String,
        "The URL users reach Ember at, for example behind a reverse proxy. Links back to \
         Ember are built from it, and its path (if any) prefixes every HTTP endpoint. \
         Derived from the hostname and listen port when empty.",
    )
    .placeholder("<URL>"),
    flag(
        "web.route-prefix",
        String,
        "Path prefix of the HTTP endpoints. Defaults to the path of --web.external-url.",
    )
    .placeholder("<path>"),
    flag(
        "web.user-assets",
        String,
        "Directory of static files served at /user.",
    )
    .placeholder("<path>")
    .planned(WebUi),
    flag(
        "web.enable-lifecycle",
        Bool,
        "Allow shutting down (/-/quit) and reloading (/-/reload) over HTTP.",
    )
    .default("false"),
    flag(
        "web.enable-admin-api",
        Bool,
        "Enable the admin API endpoints (snapshots, series deletion).",
    )
    .default("false"),
    flag(
        "web.enable-remote-write-receiver",
        Bool,
        "Accept remote-write requests at /api/v1/write (Ember's receiver is always on; the \
         flag is accepted for compatibility).",
    )
    .default("false"),
    flag(
        "web.remote-write-receiver.accepted-protobuf-messages",
        RemoteWriteMessages,
        "Remote-write protobuf messages the receiver accepts: prometheus.WriteRequest, \
         io.prometheus.write.v2.Request.",
    )
    .default("prometheus.WriteRequest,io.prometheus.write.v2.Request"),
    flag(
        "web.enable-otlp-receiver",
        Bool,
        "Accept OTLP metrics at /api/v1/otlp/v1/metrics.",
    )
    .default("false")
    .planned(RemoteWriteReceiver),
    flag(
        "web.console.templates",
        String,
        "Directory of console templates, served at /consoles.",
    )
    .default("consoles")
    .planned(WebUi),
    flag(
        "web.console.libraries",
        String,
        "Directory of console template libraries.",
    )
    .default("console_libraries")
    .planned(WebUi),
    flag("web.page-title", String, "Title of the web UI's pages.")
        .default("Prometheus Time Series Collection and Processing Server")
        .planned(WebUi),
    flag(
        "web.cors.origin",
        String,
        "Regular expression (fully anchored) of the origins allowed by CORS, for example \
         'https?://(domain1|domain2)\\.com'.",
    )
    .default(".*"),
    flag(
        "storage.tsdb.path",
        String,
        "Directory of the database (server mode).",
    )
    .default("data/")
    .server(),
    flag(
        "storage.tsdb.min-block-duration",
        Duration,
        "Time range of the head and of freshly cut blocks. For testing.",
    )
    .default("2h")
    .hidden()
    .server(),
    flag(
        "storage.tsdb.max-block-duration",
        Duration,
        "Longest time range of a compacted block (default: a tenth of the retention, at \
         most 31d). For testing.",
    )
    .placeholder("<duration>")
    .hidden()
    .server()
    .planned(Blocks),
    flag(
        "storage.tsdb.max-block-chunk-segment-size",
        Bytes,
        "Largest chunk segment file in a block, for example 512MB.",
    )
    .placeholder("<bytes>")
    .hidden()
    .server()
    .planned(Blocks),
    flag(
        "storage.tsdb.wal-segment-size",
        Bytes,
        "Size at which WAL segment files are cut, between 10MB and 256MB (default 128MB).",
    )
    .placeholder("<bytes>")
    .hidden()
    .server(),
    flag(
        "storage.tsdb.retention.time",
        Duration,
        "[DEPRECATED in Prometheus: use the configuration file] How long to keep samples \
         (default 15d when no size limit is set either). Units: y, w, d, h, m, s, ms.",
    )
    .server()
    .planned(Blocks),
    flag(
        "storage.tsdb.retention.size",
        Bytes,
        "[DEPRECATED in Prometheus: use the configuration file] Most bytes the blocks may \
         use, with a unit (B, KB, MB, GB, TB, PB, EB; powers of 1024), for example 512MB.",
    )
    .server()
    .planned(Blocks),
    flag(
        "storage.tsdb.no-lockfile",
        Bool,
        "Do not create or lock the data directory's lock file.",
    )
    .default("false")
    .server(),
    flag(
        "storage.tsdb.allow-overlapping-compaction",
        Bool,
        "Compact blocks whose time ranges overlap.",
    )
    .default("true")
    .hidden()
    .server()
    .planned(Blocks),
    flag(
        "storage.tsdb.wal-compression",
        Bool,
        "Compress WAL records; with --no-storage.tsdb.wal-compression the type is ignored.",
    )
    .default("true")
    .hidden()
    .server(),
    flag(
        "storage.tsdb.wal-compression-type",
        COMPRESSION,
        "WAL record compression: snappy or zstd.",
    )
    .default("snappy")
    .hidden()
    .server(),
    flag(
        "storage.tsdb.head-chunks-write-queue-size",
        Int,
        "Length of the queue of head chunks waiting to be written to disk; 0 writes them \
         synchronously. Experimental.",
    )
    .default("0")
    .server()
    .planned(Blocks),
    flag(
        "storage.tsdb.head-chunks-write-buffer-size-bytes",
        ByteCount,
        "Ember only: write buffer of the chunks_head/ files, in bytes or with a unit, \
         between 64KiB and 8MiB and a multiple of 1KiB.",
    )
    .default("4MiB")
    .server(),
    flag(
        "storage.tsdb.samples-per-chunk",
        Int,
        "Samples a head chunk holds before a new one is cut.",
    )
    .default("120")
    .hidden()
    .server(),
    flag(
        "storage.tsdb.delayed-compaction.max-percent",
        Int,
        "Upper bound of the random compaction delay, in percent of the head range, with \
         the delayed-compaction feature.",
    )
    .default("10")
    .hidden()
    .server()
    .planned(Blocks),
    flag(
        "storage.tsdb.delay-compact-file.path",
        String,
        "JSON file listing uploaded blocks (for example a Thanos shipper file); only \
         level-1 blocks it marks as uploaded are compacted.",
    )
    .default("")
    .server()
    .planned(Blocks),
    flag(
        "storage.tsdb.block-reload-interval",
        Duration,
        "How often to look for blocks added to or removed from the data directory.",
    )
    .default("1m")
    .hidden()
    .server()
    .planned(Blocks),
    flag(
        "storage.agent.path",
        String,
        "Directory of the WAL in agent mode.",
    )
    .default("data-agent/")
    .agent(),
    flag(
        "storage.agent.wal-segment-size",
        Bytes,
        "Size at which agent WAL segment files are cut, between 10MB and 256MB.",
    )
    .placeholder("<bytes>")
    .hidden()
    .agent(),
    flag(
        "storage.agent.wal-compression",
        Bool,
        "Compress agent WAL records.",
    )
    .default("true")
    .agent(),
    flag(
        "storage.agent.wal-compression-type",
        COMPRESSION,
        "Agent WAL record compression: snappy or zstd.",
    )
    .default("snappy")
    .hidden()
    .agent(),
    flag(
        "storage.agent.wal-truncate-frequency",
        Duration,
        "How often the agent WAL is truncated.",
    )
    .placeholder("<duration>")
    .hidden()
    .agent()
    .planned(AgentMode),
    flag(
        "storage.agent.retention.min-time",
        Duration,
        "Youngest samples the agent may delete when truncating its WAL.",
    )
    .default("5m")
    .agent()
    .planned(AgentMode),
    flag(
        "storage.agent.retention.max-time",
        Duration,
        "Age at which the agent deletes samples when truncating its WAL.",
    )
    .default("4h")
    .agent()
    .planned(AgentMode),
    flag(
        "storage.agent.checkpoint-from-in-memory-series",
        Bool,
        "Build agent WAL checkpoints from the series in memory only.",
    )
    .default("false")
    .agent()
    .planned(AgentMode),
    flag(
        "storage.agent.checkpoint-batch-size",
        Int,
        "Series per record when checkpointing from memory.",
    )
    .default("1000")
    .agent()
    .planned(AgentMode),
    flag(
        "storage.agent.no-lockfile",
        Bool,
        "Do not create or lock the agent data directory's lock file.",
    )
    .default("false")
    .agent(),
    flag(
        "storage.remote.flush-deadline",
        Duration,
        "How long to keep sending queued samples on shutdown or reload.",
    )
    .default("1m")
    .placeholder("<duration>")
    .planned(RemoteStorage),
    flag(
        "storage.remote.read-sample-limit",
        Int,
        "Most samples one remote-read query may return (0: no limit; streamed responses \
         are not limited).",
    )
    .default("5e7")
    .server()
    .planned(RemoteStorage),
    flag(
        "storage.remote.read-concurrent-limit",
        Int,
        "Most remote-read requests served at once (0: no limit).",
    )
    .default("10")
    .server()
    .planned(RemoteStorage),
    flag(
        "storage.remote.read-max-bytes-in-frame",
        Int,
        "Most bytes in one frame of a streamed remote-read response.",
    )
    .default("1048576")
    .server()
    .planned(RemoteStorage),
    flag(
        "web.search.max-limit",
        Int,
        "Highest 'limit' the experimental search API accepts (0: no cap; must not be \
         negative).",
    )
    .default("10000")
    .server()
    .planned(HttpApi),
    flag(
        "rules.alert.for-outage-tolerance",
        Duration,
        "Longest outage after which an alert's 'for' state is still restored.",
    )
    .default("1h")
    .server()
    .planned(Rules),
    flag(
        "rules.alert.for-grace-period",
        Duration,
        "Shortest time between an alert and its restored 'for' state.",
    )
    .default("10m")
    .server()
    .planned(Rules),
    flag(
        "rules.alert.resend-delay",
        Duration,
        "Shortest time before an alert is sent to Alertmanager again.",
    )
    .default("1m")
    .server()
    .planned(Rules),
    flag(
        "rules.max-concurrent-evals",
        Int64,
        "Most rules evaluated concurrently.",
    )
    .default("4")
    .server()
    .planned(Rules),
    flag(
        "scrape.adjust-timestamps",
        Bool,
        "Align scrape timestamps to the schedule within --scrape.timestamp-tolerance.",
    )
    .default("true")
    .hidden()
    .planned(Scraping),
    flag(
        "scrape.timestamp-tolerance",
        GoDuration,
        "How far a scrape timestamp may be moved to align it.",
    )
    .default("2ms")
    .hidden()
    .planned(Scraping),
    flag(
        "alertmanager.notification-queue-capacity",
        Int,
        "Length of the queue of alerts waiting to be sent to Alertmanager.",
    )
    .default("10000")
    .server()
    .planned(Alerting),
    flag(
        "alertmanager.notification-batch-size",
        Int,
        "Most alerts sent to Alertmanager in one request.",
    )
    .default("256")
    .server()
    .planned(Alerting),
    flag(
        "alertmanager.drain-notification-queue-on-shutdown",
        Bool,
        "Send the queued alerts before shutting down instead of dropping them.",
    )
    .default("true")
    .server()
    .planned(Alerting),
    flag(
        "query.lookback-delta",
        Duration,
        "How far back an instant selector looks for a sample.",
    )
    .default("5m")
    .server(),
    flag("query.timeout", Duration, "Longest time a query may run.")
        .default("2m")
        .server(),
    flag(
        "query.max-concurrency",
        Int,
        "Most queries evaluated at once.",
    )
    .default("20")
    .server(),
    flag(
        "query.max-samples",
        Int,
        "Most samples one query may hold in memory, and so return.",
    )
    .default("50000000")
    .server(),
    flag(
        "scrape.discovery-reload-interval",
        Duration,
        "Shortest time between two updates of the scrape target lists.",
    )
    .default("5s")
    .hidden()
    .planned(Scraping),
    flag(
        "enable-feature",
        Strings,
        "Comma-separated experimental features to enable. Prometheus's names are \
         accepted; none is implemented in Ember yet.",
    )
    .planned(Experimental),
    flag(
        "agent",
        Bool,
        "Run in agent mode. Not implemented yet: Ember runs as a server, storing in \
         --storage.agent.path.",
    )
    .planned(AgentMode),
    flag(
        "log.level",
        LogLevel,
        "Lowest severity logged: debug, info, warn or error.",
    )
    .default("info"),
    flag("log.format", LogFormat, "Log line format: logfmt or json.").default("logfmt"),
    flag(
        "write-documentation",
        Bool,
        "Print the flag reference as Markdown and exit.",
    )
    .hidden(),
];

/// The feature names `--enable-feature` accepts: Prometheus 3's current ones and those it
/// still recognises as deprecated or no-ops.
pub const KNOWN_FEATURES: &[&str] = &[
    "auto-reload-config",
    "concurrent-rule-eval",
    "created-timestamp-zero-ingestion",
    "delayed-compaction",
    "exemplar-storage",
    "extra-scrape-metrics",
    "fast-startup",
    "histograms-st-encoding",
    "memory-snapshot-on-shutdown",
    "metadata-wal-records",
    "native-histograms",
    "old-ui",
    "ooo-native-histograms",
    "otlp-deltatocumulative",
    "otlp-native-delta-ingestion",
    "promql-binop-fill-modifiers",
    "promql-delayed-name-removal",
    "promql-duration-expr",
    "promql-experimental-functions",
    "promql-extended-range-selectors",
    "promql-per-step-stats",
    "search-api",
    "st-storage",
    "st-synthesis",
    "type-and-unit-labels",
    "use-start-timestamps",
    "use-uncached-io",
    "xor2-encoding",
];

/// The flag named `name`, if there is one.
pub fn find(name: &str) -> Option<&'static FlagSpec> {
    FLAGS.iter().find(|f| f.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn names_are_unique() {
        let mut seen = HashSet::new();
        for f in FLAGS {
            assert!(seen.insert(f.name), "duplicate flag {}", f.name);
        }
    }

    /// Every flag in Prometheus 3.14's `docs/command-line/prometheus.md`, which lists the
    /// visible ones, must be in the table and visible.
    #[test]
    fn every_documented_prometheus_flag_is_accepted() {
        let documented = [
            "help",
            "version",
            "config.file",
            "config.auto-reload",
            "config.auto-reload-interval",
            "web.listen-address",
            "auto-gomaxprocs",
            "auto-gomemlimit",
            "auto-gomemlimit.ratio",
            "auto-gomemlimit.refresh-interval",
            "web.config.file",
            "web.read-timeout",
            "web.max-connections",
            "web.max-notifications-subscribers",
            "web.external-url",
            "web.route-prefix",
            "web.user-assets",
            "web.enable-lifecycle",
            "web.enable-admin-api",
            "web.enable-remote-write-receiver",
            "web.remote-write-receiver.accepted-protobuf-messages",
            "web.enable-otlp-receiver",
            "web.console.templates",
            "web.console.libraries",
            "web.page-title",
            "web.cors.origin",
            "storage.tsdb.path",
            "storage.tsdb.retention.time",
            "storage.tsdb.retention.size",
            "storage.tsdb.no-lockfile",
            "storage.tsdb.head-chunks-write-queue-size",
            "storage.tsdb.delay-compact-file.path",
            "storage.agent.path",
            "storage.agent.wal-compression",
            "storage.agent.retention.min-time",
            "storage.agent.retention.max-time",
            "storage.agent.checkpoint-from-in-memory-series",
            "storage.agent.checkpoint-batch-size",
            "storage.agent.no-lockfile",
            "storage.remote.flush-deadline",
            "storage.remote.read-sample-limit",
            "storage.remote.read-concurrent-limit",
            "storage.remote.read-max-bytes-in-frame",
            "web.search.max-limit",
            "rules.alert.for-outage-tolerance",
            "rules.alert.for-grace-period",
            "rules.alert.resend-delay",
            "rules.max-concurrent-evals",
            "alertmanager.notification-queue-capacity",
            "alertmanager.notification-batch-size",
            "alertmanager.drain-notification-queue-on-shutdown",
            "query.lookback-delta",
            "query.timeout",
            "query.max-concurrency",
            "query.max-samples",
            "enable-feature",
            "agent",
            "log.level",
            "log.format",
        ];
        for name in documented {
            let f = find(name).unwrap_or_else(|| panic!("--{name} is missing"));
            assert!(!f.hidden, "--{name} is documented, so must not be hidden");
        }
    }

    /// The hidden flags of Prometheus 3.14's `cmd/prometheus/main.go`.
    #[test]
    fn every_hidden_prometheus_flag_is_accepted_and_hidden() {
        let hidden = [
            "storage.tsdb.min-block-duration",
            "storage.tsdb.max-block-duration",
            "storage.tsdb.max-block-chunk-segment-size",
            "storage.tsdb.wal-segment-size",
            "storage.tsdb.allow-overlapping-compaction",
            "storage.tsdb.wal-compression",
            "storage.tsdb.wal-compression-type",
            "storage.tsdb.samples-per-chunk",
            "storage.tsdb.delayed-compaction.max-percent",
            "storage.tsdb.block-reload-interval",
            "storage.agent.wal-segment-size",
            "storage.agent.wal-compression-type",
            "storage.agent.wal-truncate-frequency",
            "scrape.adjust-timestamps",
            "scrape.timestamp-tolerance",
            "scrape.discovery-reload-interval",
            "write-documentation",
            "help-long",
            "help-man",
        ];
        for name in hidden {
            let f = find(name).unwrap_or_else(|| panic!("--{name} is missing"));
            assert!(f.hidden, "--{name} is hidden in Prometheus");
        }
    }

    #[test]
    fn only_bool_flags_are_negatable_and_only_lists_repeat() {
        for f in FLAGS {
            if f.kind == Kind::Bool {
                assert!(
                    matches!(f.default, None | Some("true") | Some("false")),
                    "--{} has a non-boolean default",
                    f.name
                );
            }
            if f.default.is_some_and(|d| d.contains(',')) {
                assert!(f.kind.is_repeatable(), "--{} lists defaults", f.name);
            }
        }
    }
}
