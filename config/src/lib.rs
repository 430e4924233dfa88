//! Ember's configuration: `prometheus.yml`, rule files and relabeling, read and checked
//! as Prometheus 3 reads and checks them.
//!
//! ```no_run
//! use ember_config::{Config, RuleFile};
//!
//! let cfg = Config::load("/etc/prometheus/prometheus.yml")?;
//! for job in cfg.all_scrape_configs() {
//!     println!("{} every {}", job.job_name, job.scrape_interval);
//! }
//! for path in cfg.rule_file_paths()? {
//!     let rules = RuleFile::load(&path)?;
//!     println!("{}: {} groups", path.display(), rules.groups.len());
//! }
//! println!("{}", cfg.to_yaml()); // as /api/v1/status/config shows it
//! # Ok::<(), ember_config::ConfigError>(())
//! ```
//!
//! # What is supported
//!
//! * **The whole `prometheus.yml` schema of Prometheus 3** ([`Config`]): `global` (every
//!   limit, name validation and escaping, scrape protocols, histogram options),
//!   `runtime`, `rule_files` and `scrape_config_files` (globs, resolved against the
//!   configuration's directory; scrape config files are loaded and merged, with job
//!   names unique across files), `scrape_configs` ([`ScrapeConfig`], every field, with
//!   inheritance from `global`), `alerting` ([`AlertingConfig`]), `remote_write`
//!   (queue and metadata settings, `sigv4`, `azuread`, `google_iam`), `remote_read`,
//!   `storage` (`tsdb`, `exemplars`), `tracing` and `otlp`.
//! * **HTTP client settings** ([`HttpClientConfig`]): `basic_auth`, `authorization`,
//!   `oauth2`, `bearer_token(_file)`, `tls_config`, proxies, `http_headers`,
//!   `follow_redirects`, `enable_http2`.
//! * **Service discovery** ([`ServiceDiscoveryConfigs`]): every `*_sd_configs` key of
//!   Prometheus 3 is parsed into its own type with Prometheus's defaults and checks.
//!   `static_configs`, `file_sd_configs`, `http_sd_configs` and `dns_sd_configs` are the
//!   mechanisms the daemon runs; [`ServiceDiscoveryConfigs::kinds`] tells it which
//!   others a job uses.
//! * **Strictness**: an unknown or repeated field, a value of the wrong type, a bad
//!   duration (`1d`, `1h30m`, `0`), size (`512MB`), URL, regex or label name is an error
//!   naming the file and line ([`ConfigError`]), worded as Prometheus words it
//!   (`prometheus.yml:12: field scrape_intervall not found in type config.ScrapeConfig`).
//!   Inputs are bounded (file size, nesting depth, alias expansion).
//! * **Secrets** ([`Secret`]) print as `<secret>`, and [`Config::to_yaml`] writes the
//!   configuration back in Prometheus's field order with defaults filled in, secrets
//!   redacted and URL passwords masked.
//! * **Rule files** ([`RuleFile`]): groups with `name`, `interval`, `limit`,
//!   `query_offset`, `labels` and recording or alerting rules, validated like
//!   `promtool check rules` (expressions parse, names and labels are valid, no repeated
//!   groups), every problem reported with file, line, group and rule.
//! * **Relabeling** ([`relabel`]): all actions with Prometheus's defaults and checks,
//!   compiled once into a [`Relabeler`] that applies them to
//!   [`ember_storage::Labels`] without allocating once warmed up.
//!
//! Deliberate differences from Prometheus are listed in `docs/compatibility.md`.

pub mod alerting;
mod config;
pub mod discovery;
mod error;
pub mod global;
pub mod http;
pub mod relabel;
pub mod remote;
pub mod rules;
pub mod scrape;
mod types;
mod yaml;

pub use alerting::{AlertingConfig, AlertmanagerConfig};
pub use config::Config;
pub use discovery::{ServiceDiscoveryConfigs, TargetGroup};
pub use error::{ConfigError, Problem, MAX_FILE_SIZE};
pub use global::{GlobalConfig, OtlpConfig, RuntimeConfig, StorageConfig, TracingConfig};
pub use http::{HttpClientConfig, TlsConfig};
pub use relabel::{Action, RelabelBuffer, RelabelConfig, RelabelError, Relabeler};
pub use remote::{RemoteReadConfig, RemoteWriteConfig};
pub use rules::{Rule, RuleFile, RuleGroup, RuleKind};
pub use scrape::{ScrapeConfig, ScrapeProtocol};
pub use types::{Duration, NameValidation, Secret, Size, Url};
