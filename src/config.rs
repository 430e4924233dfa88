//! Loading the configuration file (`--config.file`): read here, parsed and checked by
//! `ember-config` at start-up and on every reload, so a missing, unreadable or invalid
//! file fails as it would in Prometheus.
//!
//! When `--config.file` is not given and `prometheus.yml` does not exist in the working
//! directory, Ember uses its built-in configuration ([`DEFAULT_CONFIG`], Prometheus's
//! example configuration: Ember scrapes itself) instead of refusing to start.

use std::path::{Path, PathBuf};

/// The built-in configuration, also installed as `/etc/prometheus/prometheus.yml` in the
/// Docker image.
pub const DEFAULT_CONFIG: &str = include_str!("default-config.yml");

/// Where the configuration in use came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigSource {
    File(PathBuf),
    BuiltIn,
}

/// A configuration file's text, read and ready to be parsed.
#[derive(Debug, Clone)]
pub struct LoadedConfig {
    pub source: ConfigSource,
    pub text: String,
}

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("open {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: the file is not valid UTF-8")]
    NotUtf8 { path: PathBuf },
}

/// Reads the configuration at `path`. If it does not exist and `fall_back` is set (the
/// user did not name a file), the built-in configuration is used instead.
pub fn load(path: &Path, fall_back: bool) -> Result<LoadedConfig, ConfigError> {
    match std::fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8(bytes).map_err(|_| ConfigError::NotUtf8 {
                path: path.to_path_buf(),
            })?;
            Ok(LoadedConfig {
                source: ConfigSource::File(path.to_path_buf()),
                text,
            })
        }
        Err(e) if fall_back && e.kind() == std::io::ErrorKind::NotFound => Ok(LoadedConfig {
            source: ConfigSource::BuiltIn,
            text: DEFAULT_CONFIG.to_string(),
        }),
        Err(source) => Err(ConfigError::Read {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// A configuration read and parsed.
pub struct ParsedConfig {
    pub source: ConfigSource,
    pub config: ember_config::Config,
}

/// Reads (as [`load`]) and parses the configuration; the error names the file and line.
pub fn load_parsed(path: &Path, fall_back: bool) -> Result<ParsedConfig, String> {
    let loaded = load(path, fall_back).map_err(|e| e.to_string())?;
    let config = match &loaded.source {
        ConfigSource::File(p) => ember_config::Config::load(p),
        ConfigSource::BuiltIn => ember_config::Config::from_str(&loaded.text, "."),
    }
    .map_err(|e| e.to_string())?;
    Ok(ParsedConfig {
        source: loaded.source,
        config,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_default_file_falls_back_to_the_built_in_config() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("prometheus.yml");
        let loaded = load(&missing, true).unwrap();
        assert_eq!(loaded.source, ConfigSource::BuiltIn);
        assert_eq!(loaded.text, DEFAULT_CONFIG);
        // A file the user named must exist.
        let err = load(&missing, false).unwrap_err();
        assert!(err.to_string().starts_with("open "), "{err}");
        assert!(err.to_string().contains("prometheus.yml"), "{err}");
    }

    #[test]
    fn existing_file_is_read_even_when_falling_back_is_allowed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("prometheus.yml");
        std::fs::write(&path, "global: {}\n").unwrap();
        let loaded = load(&path, true).unwrap();
        assert_eq!(loaded.source, ConfigSource::File(path.clone()));
        assert_eq!(loaded.text, "global: {}\n");
        std::fs::write(&path, [0xff, 0xfe]).unwrap();
        assert!(matches!(
            load(&path, true),
            Err(ConfigError::NotUtf8 { .. })
        ));
        // A directory is not a configuration file, even on the fallback path.
        assert!(load(dir.path(), true).is_err());
    }

    #[test]
    fn built_in_config_parses_to_one_self_scraping_job() {
        let cfg = ember_config::Config::from_str(DEFAULT_CONFIG, ".").unwrap();
        let jobs: Vec<_> = cfg.all_scrape_configs().collect();
        assert_eq!(jobs.len(), 1);
        assert_eq!(jobs[0].job_name, "prometheus");
        assert_eq!(jobs[0].scrape_interval.to_string(), "15s");
        let statics = &jobs[0].service_discovery.static_configs;
        assert_eq!(statics[0].targets, ["localhost:9090"]);
        assert_eq!(
            statics[0].labels.get("app").map(String::as_str),
            Some("prometheus")
        );
    }

    #[test]
    fn invalid_files_fail_with_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("prometheus.yml");
        std::fs::write(&path, "global:\n  scrape_intervall: 1m\n").unwrap();
        let err = load_parsed(&path, false).err().unwrap();
        assert!(err.contains("prometheus.yml:2"), "{err}");
        assert!(err.contains("scrape_intervall"), "{err}");
    }

    #[test]
    fn built_in_config_scrapes_ember_itself() {
        let lines: Vec<&str> = DEFAULT_CONFIG.lines().map(str::trim).collect();
        for expected in [
            "scrape_interval: 15s # How often targets are scraped (Prometheus's default is 1m).",
            "- job_name: \"prometheus\"",
            "- targets: [\"localhost:9090\"]",
            "app: \"prometheus\"",
        ] {
            assert!(lines.contains(&expected), "missing {expected:?}");
        }
        assert!(!DEFAULT_CONFIG.contains('\t'), "YAML forbids tabs");
    }
}
