//! `ember check config|rules`: promtool's `check config` and `check rules`, so that CI
//! pipelines which validate Prometheus configuration can validate it with Ember instead.
//!
//! The output and exit codes are promtool's: `Checking FILE`, `  SUCCESS: ...` on stdout,
//! `  FAILED: ...` on stderr; exit 0 when every file is valid, 1 when one is not, 3 when
//! only lint checks failed and `--lint-fatal` is given. The error texts are Ember's
//! configuration errors, which name file and line (see docs/compatibility.md).

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use ember_config::discovery::FileSdConfig;
use ember_config::{Config, ConfigError, NameValidation, RuleFile, TlsConfig};

use crate::cli::units::parse_go_duration;
use crate::go_errors::io_error;

const SUCCESS: u8 = 0;
const FAILURE: u8 = 1;
const LINT_FAILURE: u8 = 3;

/// Most bytes read from standard input by `check rules` without files.
const MAX_STDIN: u64 = ember_config::MAX_FILE_SIZE;

const USAGE: &str = "\
usage: ember check [<flags>] <command> [<args> ...]

Check the resources for validity.

Flags:
      --query.lookback-delta=5m  The server's maximum query lookback duration.

Commands:
  check config [<flags>] <config-files>...
    Check if the config files are valid or not.

    --syntax-only             Only check the config file syntax, ignoring file and
                              content validation referenced in the config
    --lint=\"duplicate-rules\"  Linting checks to apply to the rules/scrape configs
                              specified in the config. Available options are: all,
                              duplicate-rules, too-long-scrape-interval, none. Use
                              --lint=none to disable linting
    --lint-fatal              Make lint errors exit with exit code 3.

  check rules [<flags>] [<rule-files>...]
    Check if the rule files are valid or not (standard input when no file is given).

    --lint=\"duplicate-rules\"  Linting checks to apply. Available options are: all,
                              duplicate-rules, none. Use --lint=none to disable linting
    --lint-fatal              Make lint errors exit with exit code 3.
";

/// Which lint checks run.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Lint {
    duplicate_rules: bool,
    /// Scrape intervals at or above this are reported (zero: not checked).
    too_long_scrape_interval: Option<Duration>,
    fatal: bool,
}

/// A parsed `check` command line.
#[derive(Debug, PartialEq)]
enum CheckCommand {
    Config {
        files: Vec<PathBuf>,
        syntax_only: bool,
        lint: Lint,
    },
    Rules {
        files: Vec<PathBuf>,
        lint: Lint,
    },
    Help,
}

/// Runs `ember check ARGS...`; returns the exit code.
pub fn run(args: &[String]) -> u8 {
    match parse(args) {
        Ok(CheckCommand::Help) => {
            print!("{USAGE}");
            SUCCESS
        }
        Ok(CheckCommand::Config {
            files,
            syntax_only,
            lint,
        }) => check_configs(&files, syntax_only, lint),
        Ok(CheckCommand::Rules { files, lint }) => check_rule_files(&files, lint),
        Err(e) => {
            eprintln!("ember: error: {e}, try --help");
            FAILURE
        }
    }
}

fn parse(args: &[String]) -> Result<CheckCommand, String> {
    let mut lookback = Duration::from_secs(300);
    let mut command: Option<&str> = None;
    let mut files = Vec::new();
    let mut syntax_only = false;
    let mut lint_option = "duplicate-rules".to_string();
    let mut lint_fatal = false;
    let mut flags_done = false;
    let mut i = 0;
    while i < args.len() {
        let arg = args[i].as_str();
        i += 1;
        if flags_done || !arg.starts_with("--") || arg == "--" {
            if arg == "--" && !flags_done {
                flags_done = true;
                continue;
            }
            if command.is_none() {
                match arg {
                    "config" | "rules" => {
                        command = Some(if arg == "config" { "config" } else { "rules" })
                    }
                    "help" => return Ok(CheckCommand::Help),
                    other => return Err(format!("expected command but got {other:?}")),
                }
            } else {
                files.push(PathBuf::from(arg));
            }
            continue;
        }
        let (name, inline) = match arg[2..].split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (&arg[2..], None),
        };
        let mut value = |name: &str| -> Result<String, String> {
            if let Some(v) = inline.clone() {
                return Ok(v);
            }
            let v = args
                .get(i)
                .cloned()
                .ok_or_else(|| format!("expected argument for flag '--{name}'"))?;
            i += 1;
            Ok(v)
        };
        match (name, command) {
            ("help", _) => return Ok(CheckCommand::Help),
            ("query.lookback-delta", _) => {
                let v = value(name)?;
                lookback = parse_go_duration(&v)
                    .map_err(|e| format!("invalid value {v:?} for flag '--{name}': {e}"))?;
            }
            ("syntax-only", Some("config")) => syntax_only = true,
            ("lint", Some(_)) => lint_option = value(name)?,
            ("lint-fatal", Some(_)) => lint_fatal = true,
            _ => return Err(format!("unknown long flag '--{name}'")),
        }
    }
    let lint = parse_lint(
        &lint_option,
        lint_fatal,
        lookback,
        command == Some("config"),
    );
    match command {
        None => Err("expected command but got nothing".to_string()),
        Some("config") => {
            if files.is_empty() {
                return Err("required argument 'config-files' not provided".to_string());
            }
            existing(&files)?;
            Ok(CheckCommand::Config {
                files,
                syntax_only,
                lint,
            })
        }
        Some(_) => {
            existing(&files)?;
            Ok(CheckCommand::Rules { files, lint })
        }
    }
}

/// As kingpin's `ExistingFiles`: every named file must exist before anything is checked.
fn existing(files: &[PathBuf]) -> Result<(), String> {
    for f in files {
        if !f.exists() {
            return Err(format!("path '{}' does not exist", f.display()));
        }
    }
    Ok(())
}

/// promtool's lint option list: `all`, `duplicate-rules`, `too-long-scrape-interval`
/// (config only), `none`; unknown options are warned about and ignored.
fn parse_lint(options: &str, fatal: bool, lookback: Duration, config: bool) -> Lint {
    let mut lint = Lint {
        fatal,
        ..Lint::default()
    };
    let mut none = false;
    for option in options.split(',') {
        match option {
            "all" => {
                lint.duplicate_rules = true;
                if config {
                    lint.too_long_scrape_interval = Some(lookback);
                }
            }
            "duplicate-rules" => lint.duplicate_rules = true,
            "too-long-scrape-interval" if config => lint.too_long_scrape_interval = Some(lookback),
            "none" => none = true,
            "" => {}
            other => println!("WARNING: unknown lint option: {other:?}"),
        }
    }
    if none {
        lint = Lint {
            fatal,
            ..Lint::default()
        };
    }
    if lint.too_long_scrape_interval == Some(Duration::ZERO) {
        lint.too_long_scrape_interval = None;
    }
    lint
}

/// What checking a set of files found.
#[derive(Debug, Default, Clone, Copy)]
struct Outcome {
    /// Something failed (an error or a lint finding).
    failed: bool,
    /// Something failed that is not a lint finding.
    errors: bool,
}

impl Outcome {
    fn merge(&mut self, other: Outcome) {
        self.failed |= other.failed;
        self.errors |= other.errors;
    }

    fn exit_code(self, lint: Lint) -> u8 {
        if self.failed && self.errors {
            FAILURE
        } else if self.failed && lint.fatal {
            LINT_FAILURE
        } else {
            SUCCESS
        }
    }
}

fn check_configs(files: &[PathBuf], syntax_only: bool, lint: Lint) -> u8 {
    let mut outcome = Outcome::default();
    for file in files {
        println!("Checking {}", file.display());
        let result = check_config(file, syntax_only);
        match &result {
            Ok(checked) => {
                if !checked.rule_files.is_empty() {
                    println!("  SUCCESS: {} rule files found", checked.rule_files.len());
                }
                println!(
                    " SUCCESS: {} is valid prometheus config file syntax",
                    file.display()
                );
            }
            Err(e) => {
                eprintln!("  FAILED: {e}");
                outcome.merge(Outcome {
                    failed: true,
                    errors: true,
                });
            }
        }
        println!();
        if let (Ok(checked), false) = (result, syntax_only) {
            if let Some(limit) = lint.too_long_scrape_interval {
                for (job, interval) in &checked.scrape_intervals {
                    if *interval >= limit {
                        eprintln!(
                            "  FAILED: too long scrape interval found, data point will be marked as stale - job: {job}, interval: {}",
                            ember_config::Duration::from(*interval)
                        );
                        outcome.failed = true;
                        break;
                    }
                }
            }
            outcome.merge(check_rule_files_inner(&checked.rule_files, lint));
        }
    }
    let _ = std::io::stdout().flush();
    outcome.exit_code(lint)
}

/// What a valid configuration refers to.
struct CheckedConfig {
    rule_files: Vec<PathBuf>,
    /// Job name and scrape interval of every scrape config.
    scrape_intervals: Vec<(String, Duration)>,
}

/// Loads a configuration and, unless `syntax_only`, checks the files it refers to as
/// promtool does: rule files named without a glob must exist; credential, certificate and
/// key files must exist; `file_sd_configs` files that exist must hold target groups.
fn check_config(file: &Path, syntax_only: bool) -> Result<CheckedConfig, String> {
    let cfg = Config::load(file).map_err(|e| e.to_string())?;
    let mut rule_files = Vec::new();
    if !syntax_only {
        for pattern in &cfg.rule_files {
            let matched = Config::glob(pattern).map_err(|e| e.to_string())?;
            if !pattern.contains('*') {
                if matched.is_empty() {
                    return Err(format!("{pattern:?} does not point to an existing file"));
                }
                if let Err(e) = std::fs::metadata(&matched[0]) {
                    return Err(format!(
                        "error checking rule file {:?}: {}",
                        matched[0].display().to_string(),
                        io_error("stat", &matched[0], &e)
                    ));
                }
            }
            for path in matched {
                if !rule_files.contains(&path) {
                    rule_files.push(path);
                }
            }
        }
    }
    let mut scrape_intervals = Vec::new();
    for scfg in cfg.all_scrape_configs() {
        scrape_intervals.push((scfg.job_name.clone(), scfg.scrape_interval.as_std()));
        let http = &scfg.http_client;
        if !syntax_only {
            if let Some(auth) = &http.authorization {
                if !auth.credentials_file.is_empty() {
                    let path = Path::new(&auth.credentials_file);
                    if let Err(e) = std::fs::metadata(path) {
                        return Err(format!(
                            "error checking authorization credentials or bearer token file {:?}: {}",
                            auth.credentials_file,
                            io_error("stat", path, &e)
                        ));
                    }
                }
            }
        }
        check_tls(&http.tls_config, syntax_only)?;
        if !syntax_only {
            let owner = format!("scrape job {:?}", scfg.job_name);
            check_sd_files(&scfg.service_discovery.file, &owner)?;
        }
    }
    if !syntax_only {
        for am in &cfg.alerting.alertmanagers {
            check_sd_files(&am.service_discovery.file, "alertmanager config")?;
        }
    }
    Ok(CheckedConfig {
        rule_files,
        scrape_intervals,
    })
}

/// The files of `file_sd_configs`, read as file discovery reads them: a pattern matching
/// nothing is a warning (the files may appear later), a file that does not hold target
/// groups an error.
fn check_sd_files(configs: &[FileSdConfig], owner: &str) -> Result<(), String> {
    for sd in configs {
        for pattern in &sd.files {
            let matched = Config::glob(pattern).map_err(|e| e.to_string())?;
            if matched.is_empty() {
                println!("  WARNING: file {pattern:?} for file_sd in {owner} does not exist");
            }
            for path in matched {
                crate::discovery::file::read_file(&path.to_string_lossy())
                    .map_err(|e| format!("checking SD file {pattern:?}: {e}"))?;
            }
        }
    }
    Ok(())
}

/// promtool's `checkTLSConfig`: a client certificate needs its key and the reverse; both
/// must exist unless only the syntax is checked.
fn check_tls(tls: &TlsConfig, syntax_only: bool) -> Result<(), String> {
    if !tls.cert_file.is_empty() && tls.key_file.is_empty() {
        return Err(format!(
            "client cert file {:?} specified without client key file",
            tls.cert_file
        ));
    }
    if !tls.key_file.is_empty() && tls.cert_file.is_empty() {
        return Err(format!(
            "client key file {:?} specified without client cert file",
            tls.key_file
        ));
    }
    if syntax_only {
        return Ok(());
    }
    for (what, file) in [
        ("client cert", &tls.cert_file),
        ("client key", &tls.key_file),
    ] {
        if file.is_empty() {
            continue;
        }
        if let Err(e) = std::fs::metadata(file) {
            return Err(format!(
                "error checking {what} file {file:?}: {}",
                io_error("stat", Path::new(file), &e)
            ));
        }
    }
    Ok(())
}

fn check_rule_files(files: &[PathBuf], lint: Lint) -> u8 {
    let outcome = if files.is_empty() {
        println!("Checking standard input");
        let mut text = String::new();
        let read = std::io::stdin()
            .take(MAX_STDIN + 1)
            .read_to_string(&mut text);
        match read {
            Err(e) => {
                eprintln!("  FAILED: {e}");
                Outcome {
                    failed: true,
                    errors: true,
                }
            }
            Ok(n) if n as u64 > MAX_STDIN => {
                eprintln!("  FAILED: standard input is larger than {MAX_STDIN} bytes");
                Outcome {
                    failed: true,
                    errors: true,
                }
            }
            Ok(_) => {
                let parsed = RuleFile::from_str(&text, None, NameValidation::Utf8);
                report_rules(parsed, lint)
            }
        }
    } else {
        check_rule_files_inner(files, lint)
    };
    let _ = std::io::stdout().flush();
    outcome.exit_code(lint)
}

fn check_rule_files_inner(files: &[PathBuf], lint: Lint) -> Outcome {
    let mut outcome = Outcome::default();
    for file in files {
        println!("Checking {}", file.display());
        outcome.merge(report_rules(
            RuleFile::load_with(file, NameValidation::Utf8),
            lint,
        ));
    }
    outcome
}

/// Prints the result of checking one rule file: its rule count, its errors, or its
/// lint findings.
fn report_rules(parsed: Result<RuleFile, ConfigError>, lint: Lint) -> Outcome {
    let outcome = match parsed {
        Err(e) => {
            eprintln!("  FAILED:");
            for problem in e.problems() {
                eprintln!("{problem}");
            }
            Outcome {
                failed: true,
                errors: true,
            }
        }
        Ok(file) => match lint_rules(&file, lint) {
            Some(finding) => {
                eprintln!("  FAILED:");
                eprintln!("{finding}");
                Outcome {
                    failed: true,
                    errors: false,
                }
            }
            None => {
                let n: usize = file.groups.iter().map(|g| g.rules.len()).sum();
                println!("  SUCCESS: {n} rules found");
                Outcome::default()
            }
        },
    };
    println!();
    outcome
}

/// promtool's duplicate-rules lint: two rules (across all groups of the file) with the
/// same name and the same labels (group labels overridden by rule labels) record into or
/// alert on the same series.
fn lint_rules(file: &RuleFile, lint: Lint) -> Option<String> {
    if !lint.duplicate_rules {
        return None;
    }
    let mut rules: Vec<(&str, BTreeMap<&str, &str>)> = Vec::new();
    for group in &file.groups {
        for rule in &group.rules {
            let mut labels: BTreeMap<&str, &str> = group
                .labels
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            for (k, v) in &rule.labels {
                labels.insert(k, v);
            }
            rules.push((rule.name(), labels));
        }
    }
    rules.sort();
    let mut duplicates: Vec<&(&str, BTreeMap<&str, &str>)> = Vec::new();
    for pair in rules.windows(2) {
        if pair[0] == pair[1] && duplicates.last().is_none_or(|d| **d != pair[1]) {
            duplicates.push(&pair[1]);
        }
    }
    if duplicates.is_empty() {
        return None;
    }
    let mut message = format!("lint error {} duplicate rule(s) found.\n", duplicates.len());
    for (metric, labels) in duplicates {
        message.push_str(&format!("Metric: {metric}\nLabel(s):\n"));
        for (k, v) in labels {
            message.push_str(&format!("\t{k}: {v}\n"));
        }
    }
    message.push_str("Might cause inconsistency while recording expressions");
    Some(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn lint_options_follow_promtool() {
        let five = Duration::from_secs(300);
        let default = parse_lint("duplicate-rules", false, five, true);
        assert!(default.duplicate_rules);
        assert_eq!(default.too_long_scrape_interval, None);
        let all = parse_lint("all", true, five, true);
        assert!(all.duplicate_rules && all.fatal);
        assert_eq!(all.too_long_scrape_interval, Some(five));
        // `all` for rules does not check scrape intervals (there are none).
        assert_eq!(
            parse_lint("all", false, five, false).too_long_scrape_interval,
            None
        );
        let none = parse_lint("duplicate-rules,none", false, five, true);
        assert!(!none.duplicate_rules);
    }

    #[test]
    fn command_line_is_parsed_like_promtool() {
        assert_eq!(parse(&args(&["--help"])), Ok(CheckCommand::Help));
        assert!(parse(&args(&["config"]))
            .unwrap_err()
            .contains("required argument 'config-files'"));
        assert!(parse(&args(&["config", "/nonexistent/p.yml"]))
            .unwrap_err()
            .contains("path '/nonexistent/p.yml' does not exist"));
        assert!(parse(&args(&["bogus"]))
            .unwrap_err()
            .contains("expected command"));
        assert!(parse(&args(&["rules", "--syntax-only"]))
            .unwrap_err()
            .contains("unknown long flag '--syntax-only'"));
        match parse(&args(&["rules", "--lint=none", "--lint-fatal"])) {
            Ok(CheckCommand::Rules { files, lint }) => {
                assert!(files.is_empty());
                assert!(!lint.duplicate_rules && lint.fatal);
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn duplicate_rules_are_found_with_group_labels_merged() {
        let text = "groups:\n- name: a\n  labels: {team: x}\n  rules:\n  - record: r\n    expr: up\n- name: b\n  rules:\n  - record: r\n    expr: up\n    labels: {team: x}\n  - record: r\n    expr: up\n";
        let file = RuleFile::from_str(text, None, NameValidation::Utf8).expect("valid");
        let lint = Lint {
            duplicate_rules: true,
            ..Lint::default()
        };
        let finding = lint_rules(&file, lint).expect("one duplicate");
        assert_eq!(
            finding,
            "lint error 1 duplicate rule(s) found.\nMetric: r\nLabel(s):\n\tteam: x\nMight cause inconsistency while recording expressions"
        );
        assert_eq!(lint_rules(&file, Lint::default()), None);
    }
}
