//! [`Config`]: a whole `prometheus.yml`, loaded, defaulted, validated and resolved
//! against the directory it came from.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::alerting::AlertingConfig;
use crate::discovery::valid_glob_shape;
use crate::error::{read_bounded, ConfigError};
use crate::global::{GlobalConfig, OtlpConfig, RuntimeConfig, StorageConfig, TracingConfig};
use crate::http::join_dir;
use crate::remote::{RemoteReadConfig, RemoteWriteConfig};
use crate::scrape::ScrapeConfig;
use crate::types::{go_quote, NameValidation};
use crate::yaml::decode::{error_at, DResult, Decode, MapReader};
use crate::yaml::emit::{to_yaml, Encode, MapWriter};
use crate::yaml::{self, Kind, Node, Pos};

/// A loaded `prometheus.yml`.
///
/// Every section has Prometheus's defaults filled in, every scrape config has inherited
/// from `global`, relative file paths are joined onto the configuration's directory,
/// and the scrape configs of `scrape_config_files` are loaded too.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Config {
    pub global: GlobalConfig,
    pub runtime: RuntimeConfig,
    pub alerting: AlertingConfig,
    /// Globs of rule files, joined onto the configuration's directory.
    pub rule_files: Vec<String>,
    /// Globs of files holding more `scrape_configs`.
    pub scrape_config_files: Vec<String>,
    /// The scrape configs of this file.
    pub scrape_configs: Vec<ScrapeConfig>,
    pub storage: StorageConfig,
    pub tracing: Option<TracingConfig>,
    pub remote_write: Vec<RemoteWriteConfig>,
    pub remote_read: Vec<RemoteReadConfig>,
    pub otlp: OtlpConfig,
    /// The scrape configs read from `scrape_config_files`, validated like the others.
    pub file_scrape_configs: Vec<ScrapeConfig>,
}

impl Config {
    /// Reads and validates a configuration file. Relative paths inside it are resolved
    /// against the file's directory.
    pub fn load(path: impl AsRef<Path>) -> Result<Config, ConfigError> {
        let path = path.as_ref();
        let text = read_bounded(path)?;
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        Config::parse(&text, Some(path), &dir)
    }

    /// Parses and validates configuration text; relative paths are resolved against
    /// `base_dir`.
    pub fn from_str(text: &str, base_dir: impl AsRef<Path>) -> Result<Config, ConfigError> {
        Config::parse(text, None, base_dir.as_ref())
    }

    fn parse(text: &str, file: Option<&Path>, dir: &Path) -> Result<Config, ConfigError> {
        let root = yaml::parse(text).map_err(|e| ConfigError::at(file, e.pos, e.message))?;
        let mut cfg = match &root {
            Some(node) => Config::read(node).map_err(|e| ConfigError::decode(file, e))?,
            None => Config::default(),
        };
        cfg.validate()
            .map_err(|(pos, msg)| ConfigError::at(file, pos, msg))?;
        cfg.expand_external_labels();
        cfg.check_otlp()
            .map_err(|msg| ConfigError::file(file, msg))?;
        cfg.set_directory(dir);
        cfg.load_scrape_config_files(file)?;
        Ok(cfg)
    }

    /// Every scrape config: this file's, then those of `scrape_config_files`.
    pub fn all_scrape_configs(&self) -> impl Iterator<Item = &ScrapeConfig> {
        self.scrape_configs
            .iter()
            .chain(self.file_scrape_configs.iter())
    }

    /// The rule files the `rule_files` globs match now, in order, without repeats.
    pub fn rule_file_paths(&self) -> Result<Vec<PathBuf>, ConfigError> {
        expand_globs(&self.rule_files)
    }

    /// The files a glob pattern (of `rule_files`, `scrape_config_files`, `file_sd_configs`)
    /// matches now, sorted.
    pub fn glob(pattern: &str) -> Result<Vec<PathBuf>, ConfigError> {
        expand_globs(std::slice::from_ref(&pattern.to_string()))
    }

    /// The configuration as YAML, as Prometheus shows it at `/api/v1/status/config`:
    /// Prometheus's field order, defaults filled in, secrets as `<secret>`, URL passwords
    /// as `xxxxx`.
    pub fn to_yaml(&self) -> String {
        to_yaml(&self.encode())
    }

    fn read(node: &Node) -> DResult<Config> {
        let mut m = MapReader::new(node, "config.Config")?;
        let mut c = Config::default();
        m.read("global", &mut c.global)?;
        m.read("runtime", &mut c.runtime)?;
        m.read("alerting", &mut c.alerting)?;
        m.read("rule_files", &mut c.rule_files)?;
        m.read("scrape_config_files", &mut c.scrape_config_files)?;
        if let Some(n) = m.take_node("scrape_configs") {
            c.scrape_configs = read_list(n, "empty or null scrape config section")?;
        }
        m.read("storage", &mut c.storage)?;
        m.read("tracing", &mut c.tracing)?;
        if let Some(n) = m.take_node("remote_write") {
            c.remote_write = read_list(n, "empty or null remote write config section")?;
        }
        if let Some(n) = m.take_node("remote_read") {
            c.remote_read = read_list(n, "empty or null remote read config section")?;
        }
        m.read("otlp", &mut c.otlp)?;
        m.finish()?;
        Ok(c)
    }

    /// The checks of Prometheus's `Config.UnmarshalYAML` that span sections.
    fn validate(&mut self) -> Result<(), (Pos, String)> {
        for rf in &self.rule_files {
            if !valid_glob_shape(rf) {
                return Err((
                    Pos::default(),
                    format!("invalid rule file path {}", go_quote(rf)),
                ));
            }
        }
        for sf in &self.scrape_config_files {
            if !valid_glob_shape(sf) {
                return Err((
                    Pos::default(),
                    format!("invalid scrape config file path {}", go_quote(sf)),
                ));
            }
        }
        let mut jobs: Vec<&str> = Vec::new();
        for sc in &mut self.scrape_configs {
            sc.validate(&self.global)?;
        }
        for sc in &self.scrape_configs {
            if jobs.contains(&sc.job_name.as_str()) {
                return Err((
                    sc.pos(),
                    format!(
                        "found multiple scrape configs with job name {}",
                        go_quote(&sc.job_name)
                    ),
                ));
            }
            jobs.push(&sc.job_name);
        }
        let scheme = self.global.metric_name_validation_scheme;
        self.alerting.validate(scheme)?;
        let mut names: Vec<String> = Vec::new();
        for rw in &mut self.remote_write {
            if !rw.name.is_empty() && names.contains(&rw.name) {
                return Err((
                    rw.pos(),
                    format!(
                        "found multiple remote write configs with job name {}",
                        go_quote(&rw.name)
                    ),
                ));
            }
            crate::relabel::validate_rules(&mut rw.write_relabel_configs, scheme)?;
            names.push(rw.name.clone());
        }
        names.clear();
        for rr in &self.remote_read {
            if !rr.name.is_empty() && names.contains(&rr.name) {
                return Err((
                    rr.pos(),
                    format!(
                        "found multiple remote read configs with job name {}",
                        go_quote(&rr.name)
                    ),
                ));
            }
            names.push(rr.name.clone());
        }
        Ok(())
    }

    /// Replaces `$VAR` and `${VAR}` in external label values with the environment
    /// (`$$` is a literal `$`; unset variables are empty), as Prometheus does at load.
    fn expand_external_labels(&mut self) {
        for v in self.global.external_labels.values_mut() {
            *v = expand_env(v, |name| {
                if name == "$" {
                    "$".to_string()
                } else {
                    std::env::var(name).unwrap_or_default()
                }
            });
        }
    }

    fn check_otlp(&self) -> Result<(), String> {
        let s = self.otlp.translation_strategy.as_str();
        match s {
            "" | "UnderscoreEscapingWithSuffixes" | "UnderscoreEscapingWithoutSuffixes" => Ok(()),
            "NoTranslation" | "NoUTF8EscapingWithSuffixes" => {
                if self.global.metric_name_validation_scheme == NameValidation::Legacy {
                    Err(format!(
                        "OTLP translation strategy {} is not allowed when UTF8 is disabled",
                        go_quote(s)
                    ))
                } else {
                    Ok(())
                }
            }
            _ => Err(format!(
                "unsupported OTLP translation strategy {}",
                go_quote(s)
            )),
        }
    }

    fn set_directory(&mut self, dir: &Path) {
        self.global.set_directory(dir);
        self.alerting.set_directory(dir);
        if let Some(t) = &mut self.tracing {
            t.tls_config.set_directory(dir);
        }
        for f in &mut self.rule_files {
            join_dir(dir, f);
        }
        for f in &mut self.scrape_config_files {
            join_dir(dir, f);
        }
        for sc in &mut self.scrape_configs {
            sc.set_directory(dir);
        }
        for rw in &mut self.remote_write {
            rw.set_directory(dir);
        }
        for rr in &mut self.remote_read {
            rr.set_directory(dir);
        }
    }

    /// Reads the scrape configs of `scrape_config_files`, as Prometheus's
    /// `GetScrapeConfigs` does: each validated against `global`, job names unique across
    /// all files, relative paths resolved against each file's directory.
    fn load_scrape_config_files(&mut self, main_file: Option<&Path>) -> Result<(), ConfigError> {
        let mut seen: BTreeMap<String, String> = self
            .scrape_configs
            .iter()
            .map(|s| (s.job_name.clone(), "main config file".to_string()))
            .collect();
        let files = expand_globs(&self.scrape_config_files)?;
        let mut loaded = Vec::new();
        for path in files {
            if Some(path.as_path()) == main_file {
                continue;
            }
            let text = read_bounded(&path)?;
            let p = Some(path.as_path());
            let Some(root) =
                yaml::parse(&text).map_err(|e| ConfigError::at(p, e.pos, e.message))?
            else {
                continue;
            };
            let configs = read_scrape_configs_file(&root).map_err(|e| ConfigError::decode(p, e))?;
            let dir = path
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_else(|| PathBuf::from("."));
            for mut sc in configs {
                sc.validate(&self.global)
                    .map_err(|(pos, msg)| ConfigError::at(p, pos, msg))?;
                if let Some(first) = seen.get(&sc.job_name) {
                    return Err(ConfigError::at(
                        p,
                        sc.pos(),
                        format!(
                            "found multiple scrape configs with job name {}, first found in {first}",
                            go_quote(&sc.job_name)
                        ),
                    ));
                }
                seen.insert(sc.job_name.clone(), go_quote(&path.to_string_lossy()));
                sc.set_directory(&dir);
                loaded.push(sc);
            }
        }
        self.file_scrape_configs = loaded;
        Ok(())
    }
}

impl Encode for Config {
    fn encode(&self) -> yaml::emit::Value {
        let mut w = MapWriter::default();
        w.field("global", &self.global);
        w.omitempty("runtime", &self.runtime);
        w.omitempty("alerting", &self.alerting);
        w.omitempty("rule_files", &self.rule_files);
        w.omitempty("scrape_config_files", &self.scrape_config_files);
        w.omitempty("scrape_configs", &self.scrape_configs);
        w.omitempty("storage", &self.storage);
        w.omitempty("tracing", &self.tracing);
        w.omitempty("remote_write", &self.remote_write);
        w.omitempty("remote_read", &self.remote_read);
        w.omitempty("otlp", &self.otlp);
        w.into_value()
    }
    fn is_zero(&self) -> bool {
        false
    }
}

/// A list whose null entries are an error (`empty or null scrape config section`).
fn read_list<T: Decode>(node: &Node, null_message: &str) -> DResult<Vec<T>> {
    if node.is_null() {
        return Ok(Vec::new());
    }
    let Kind::Seq(items) = &node.kind else {
        return Err(crate::yaml::decode::type_error(node, &Vec::<T>::go_type()));
    };
    items
        .iter()
        .map(|item| {
            if item.is_null() {
                Err(error_at(item, null_message))
            } else {
                T::decode(item)
            }
        })
        .collect()
}

/// A file of `scrape_config_files`: a mapping with only `scrape_configs`.
fn read_scrape_configs_file(node: &Node) -> DResult<Vec<ScrapeConfig>> {
    let mut m = MapReader::new(node, "config.ScrapeConfigs")?;
    let configs = match m.take_node("scrape_configs") {
        Some(n) => read_list(n, "empty or null scrape config section")?,
        None => Vec::new(),
    };
    m.finish()?;
    Ok(configs)
}

/// Expands glob patterns (`rules/*.yml`) into existing files, in order, without repeats.
pub(crate) fn expand_globs(patterns: &[String]) -> Result<Vec<PathBuf>, ConfigError> {
    let mut out: Vec<PathBuf> = Vec::new();
    for pat in patterns {
        let paths = glob::glob(pat).map_err(|e| {
            ConfigError::file(
                None,
                format!("error retrieving files for {}: {e}", go_quote(pat)),
            )
        })?;
        let mut matched: Vec<PathBuf> = paths.filter_map(Result::ok).collect();
        matched.sort();
        for p in matched {
            if !out.contains(&p) {
                out.push(p);
            }
        }
    }
    Ok(out)
}

/// Go's `os.Expand`: `$name` and `${name}` are replaced by `mapping(name)`; `$$` is
/// passed to `mapping` as `$`; a `$` followed by nothing valid is kept.
pub(crate) fn expand_env(s: &str, mapping: impl Fn(&str) -> String) -> String {
    if !s.contains('$') {
        return s.to_string();
    }
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    let mut last = 0;
    while i < b.len() {
        if b[i] == b'$' && i + 1 < b.len() {
            out.push_str(&s[last..i]);
            let (name, width) = shell_name(&s[i + 1..]);
            if name.is_empty() && width > 0 {
                // Bad syntax (`${}`, `${x`): the characters are dropped, as in Go.
            } else if name.is_empty() {
                out.push('$');
            } else {
                out.push_str(&mapping(name));
            }
            i += 1 + width;
            last = i;
            continue;
        }
        i += 1;
    }
    out.push_str(&s[last..]);
    out
}

fn is_shell_special(c: u8) -> bool {
    matches!(c, b'*' | b'#' | b'$' | b'@' | b'!' | b'?' | b'-') || c.is_ascii_digit()
}

/// Go's `getShellName`: the variable name after a `$` and how many bytes it spans.
fn shell_name(s: &str) -> (&str, usize) {
    let b = s.as_bytes();
    if b[0] == b'{' {
        if b.len() > 2 && is_shell_special(b[1]) && b[2] == b'}' {
            return (&s[1..2], 3);
        }
        for (i, &c) in b.iter().enumerate().skip(1) {
            if c == b'}' {
                if i == 1 {
                    return ("", 2);
                }
                return (&s[1..i], i + 1);
            }
        }
        return ("", 1);
    }
    if is_shell_special(b[0]) {
        return (&s[0..1], 1);
    }
    let n = b
        .iter()
        .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
        .count();
    (&s[..n], n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_expansion_follows_os_expand() {
        let map = |n: &str| match n {
            "$" => "$".to_string(),
            "HOST" => "h1".to_string(),
            _ => String::new(),
        };
        assert_eq!(expand_env("plain", map), "plain");
        assert_eq!(expand_env("$HOST-x", map), "h1-x");
        assert_eq!(expand_env("${HOST}x", map), "h1x");
        assert_eq!(expand_env("$$HOST", map), "$HOST");
        assert_eq!(expand_env("a$", map), "a$");
        assert_eq!(expand_env("$UNSET!", map), "!");
        assert_eq!(expand_env("${}x", map), "x");
        assert_eq!(expand_env("x$-y", map), "xy");
        assert_eq!(expand_env("cost: $5", map), "cost: ");
    }
}
