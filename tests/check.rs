//! `ember check config|rules` against promtool's `check config|rules` (Debian's
//! Prometheus 2.42) on the same files: the same exit codes (0 valid, 1 invalid, 3 lint
//! failure with `--lint-fatal`), the same standard output, and on failure the same kind of
//! message on standard error. Error texts themselves differ by design (Ember names file
//! and line in its own words; docs/compatibility.md), so failures are compared by
//! what they mention.
//!
//! The comparisons skip (loudly) without the Debian package `prometheus`, and fail
//! instead with `EMBER_INTEROP=require`. The seed configurations are checked against
//! their documented expectation (valid) without promtool, since Debian's build rejects the
//! two that use Kubernetes discovery.

mod common;
mod support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::Workdir;
use support::tool;

/// Runs a program in `dir` with `stdin` as its standard input.
fn run_in(dir: &Path, program: &Path, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(program)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("wait")
}

fn ember(dir: &Path, args: &[&str]) -> Output {
    ember_stdin(dir, args, "")
}

fn ember_stdin(dir: &Path, args: &[&str], stdin: &str) -> Output {
    let mut full = vec!["check"];
    full.extend_from_slice(args);
    run_in(dir, Path::new(env!("CARGO_BIN_EXE_ember")), &full, stdin)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs the same `check` command with promtool and Ember; asserts equal exit codes and
/// standard outputs, and that both standard errors mention every one of `mentions`.
fn same(dir: &Path, promtool: &Path, args: &[&str], stdin: &str, mentions: &[&str]) -> i32 {
    let mut full = vec!["check"];
    full.extend_from_slice(args);
    let theirs = run_in(dir, promtool, &full, stdin);
    let ours = ember_stdin(dir, args, stdin);
    let context = format!(
        "check {args:?}\n--- promtool stdout\n{}--- promtool stderr\n{}--- ember stdout\n{}--- ember stderr\n{}",
        text(&theirs.stdout),
        text(&theirs.stderr),
        text(&ours.stdout),
        text(&ours.stderr)
    );
    assert_eq!(
        ours.status.code(),
        theirs.status.code(),
        "exit codes differ: {context}"
    );
    assert_eq!(
        text(&ours.stdout),
        text(&theirs.stdout),
        "stdout differs: {context}"
    );
    for m in mentions {
        assert!(
            text(&theirs.stderr).contains(m),
            "promtool does not say {m:?}: {context}"
        );
        assert!(
            text(&ours.stderr).contains(m),
            "ember does not say {m:?}: {context}"
        );
    }
    ours.status.code().unwrap_or(-1)
}

fn write(dir: &Workdir, name: &str, content: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, content).expect("write");
    path
}

const RULES: &str = "groups:
  - name: node
    rules:
      - record: job:up:sum
        expr: sum by (job) (up)
      - alert: InstanceDown
        expr: up == 0
        for: 5m
        labels: {severity: page}
        annotations: {summary: '{{ $labels.instance }} down'}
";

/// Group `labels` are Prometheus 3's (2.42 rejects them), so the duplicates here carry
/// their labels on the rules; the unit tests cover group labels.
const DUPLICATES: &str = "groups:
  - name: a
    rules:
      - record: job:up:sum
        expr: sum by (job) (up)
        labels: {team: x}
  - name: b
    rules:
      - record: job:up:sum
        expr: sum by (job) (up)
        labels: {team: x}
      - record: other
        expr: up
";

#[test]
fn valid_configuration_and_its_rule_files() {
    let Some(promtool) = tool("promtool") else {
        return;
    };
    let dir = Workdir::new();
    write(&dir, "rules.yml", RULES);
    write(&dir, "more.yml", RULES.replace("node", "node2").as_str());
    write(
        &dir,
        "prometheus.yml",
        "global: {scrape_interval: 15s}\nrule_files: ['rules.yml', 'm*.yml']\nscrape_configs:\n  - job_name: a\n    static_configs: [{targets: ['localhost:9100']}]\n",
    );
    assert_eq!(
        same(
            dir.path(),
            &promtool,
            &["config", "prometheus.yml"],
            "",
            &[]
        ),
        0
    );
}

#[test]
fn invalid_configurations_fail_like_promtool() {
    let Some(promtool) = tool("promtool") else {
        return;
    };
    let dir = Workdir::new();
    write(&dir, "unknown.yml", "global:\n  scrape_intervall: 15s\n");
    assert_eq!(
        same(
            dir.path(),
            &promtool,
            &["config", "unknown.yml"],
            "",
            &["FAILED", "scrape_intervall"]
        ),
        1
    );
    write(&dir, "norules.yml", "rule_files: ['absent.yml']\n");
    assert_eq!(
        same(
            dir.path(),
            &promtool,
            &["config", "norules.yml"],
            "",
            &[
                "FAILED",
                "\"absent.yml\" does not point to an existing file"
            ]
        ),
        1
    );
    write(
        &dir,
        "tls.yml",
        "scrape_configs:\n  - job_name: a\n    tls_config: {cert_file: c.pem}\n    static_configs: [{targets: ['x:1']}]\n",
    );
    // Prometheus 3 refuses this when loading (its wording: "exactly one of key or key_file
    // must be configured..."); 2.42's promtool finds it in its own later check.
    assert_eq!(
        same(
            dir.path(),
            &promtool,
            &["config", "tls.yml"],
            "",
            &["FAILED"]
        ),
        1
    );
    // Only the syntax: referenced files are not looked at.
    write(
        &dir,
        "bad_rule.yml",
        "groups:\n  - name: g\n    rules:\n      - record: r\n        expr: sum(\n",
    );
    write(&dir, "refs_bad.yml", "rule_files: ['bad_rule.yml']\n");
    assert_eq!(
        same(
            dir.path(),
            &promtool,
            &["config", "refs_bad.yml"],
            "",
            &["FAILED", "bad_rule.yml"]
        ),
        1
    );
    assert_eq!(
        same(
            dir.path(),
            &promtool,
            &["config", "--syntax-only", "refs_bad.yml"],
            "",
            &[]
        ),
        0
    );
    // A missing file on the command line is refused before anything is checked.
    let ours = ember(dir.path(), &["config", "absent.yml"]);
    assert_eq!(ours.status.code(), Some(1));
    assert!(text(&ours.stderr).contains("path 'absent.yml' does not exist"));
}

#[test]
fn file_sd_files_are_checked() {
    let Some(promtool) = tool("promtool") else {
        return;
    };
    let dir = Workdir::new();
    write(
        &dir,
        "sd.yml",
        "scrape_configs:\n  - job_name: a\n    file_sd_configs: [{files: ['targets/*.json', 'missing.yml']}]\n",
    );
    std::fs::create_dir(dir.join("targets")).expect("mkdir");
    write(
        &dir,
        "targets/good.json",
        r#"[{"targets": ["localhost:9100"], "labels": {"env": "prod"}}]"#,
    );
    // The glob that matches nothing is a warning on stdout, not an error.
    assert_eq!(
        same(dir.path(), &promtool, &["config", "sd.yml"], "", &[]),
        0
    );
    write(&dir, "targets/bad.json", r#"[{"targets": "not a list"}]"#);
    assert_eq!(
        same(
            dir.path(),
            &promtool,
            &["config", "sd.yml"],
            "",
            &["FAILED", "checking SD file"]
        ),
        1
    );
}

#[test]
fn rule_files_and_lint() {
    let Some(promtool) = tool("promtool") else {
        return;
    };
    let dir = Workdir::new();
    write(&dir, "good.yml", RULES);
    write(&dir, "dups.yml", DUPLICATES);
    write(
        &dir,
        "bad.yml",
        "groups:\n  - name: g\n    rules:\n      - record: r\n        expr: sum(up\n",
    );
    assert_eq!(
        same(dir.path(), &promtool, &["rules", "good.yml"], "", &[]),
        0
    );
    assert_eq!(
        same(
            dir.path(),
            &promtool,
            &["rules", "good.yml", "bad.yml"],
            "",
            &["FAILED", "bad.yml"]
        ),
        1
    );
    let lint_message = "lint error 1 duplicate rule(s) found.\nMetric: job:up:sum\nLabel(s):\n\tteam: x\nMight cause inconsistency while recording expressions";
    // Lint findings fail the check but exit 0, unless they are made fatal (3).
    assert_eq!(
        same(
            dir.path(),
            &promtool,
            &["rules", "dups.yml"],
            "",
            &[lint_message]
        ),
        0
    );
    assert_eq!(
        same(
            dir.path(),
            &promtool,
            &["rules", "--lint-fatal", "dups.yml"],
            "",
            &[lint_message]
        ),
        3
    );
    assert_eq!(
        same(
            dir.path(),
            &promtool,
            &["rules", "--lint=none", "--lint-fatal", "dups.yml"],
            "",
            &[]
        ),
        0
    );
    // From standard input when no file is named: Prometheus 3's promtool (2.42's requires
    // a file), so against its documented output.
    let ours = ember_stdin(dir.path(), &["rules"], RULES);
    assert_eq!(ours.status.code(), Some(0));
    assert_eq!(
        text(&ours.stdout),
        "Checking standard input\n  SUCCESS: 2 rules found\n\n"
    );
    // A too long scrape interval is a lint finding of Prometheus 3's
    // `check config --lint=all` (2.42 has no such lint), so against its wording.
    write(
        &dir,
        "slow.yml",
        "scrape_configs:\n  - job_name: slow\n    scrape_interval: 10m\n    scrape_timeout: 10s\n    static_configs: [{targets: ['x:1']}]\n",
    );
    let ours = ember(
        dir.path(),
        &["config", "--lint=all", "--lint-fatal", "slow.yml"],
    );
    assert_eq!(ours.status.code(), Some(3));
    assert_eq!(
        text(&ours.stderr),
        "  FAILED: too long scrape interval found, data point will be marked as stale - job: slow, interval: 10m\n"
    );
    let ours = ember(dir.path(), &["config", "slow.yml"]);
    assert_eq!(ours.status.code(), Some(0), "not a default lint");
}

fn seeds_dir() -> PathBuf {
    std::env::var_os("EMBER_SEEDS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/seed-configs"))
}

/// Every seed configuration is valid (seed-configs/README.md), checked with the rule files
/// it names in place, and every seed rule file is valid.
#[test]
fn seed_configurations_and_rules_check_clean() {
    let seeds = seeds_dir();
    assert!(
        seeds.is_dir(),
        "seed configs not found at {} (set EMBER_SEEDS_DIR)",
        seeds.display()
    );
    for prefix in ["a", "b", "c", "d"] {
        let dir = Workdir::new();
        let config = std::fs::read_to_string(seeds.join(format!("{prefix}-prometheus.yml")))
            .expect("seed config");
        std::fs::write(dir.join("prometheus.yml"), config).expect("write");
        let mut expected_rules = 0;
        for (seed, name) in [
            ("alert-rules", "alert_rules.yml"),
            ("recording-rules", "recording_rules.yml"),
        ] {
            let from = seeds.join(format!("{prefix}-{seed}.yml"));
            let content = std::fs::read_to_string(&from).unwrap_or_else(|_| "groups: []\n".into());
            std::fs::write(dir.join(name), content).expect("write");
            expected_rules += 1;
        }
        // Two seeds authenticate with the service-account token that exists only inside
        // a Kubernetes pod; promtool fails on its absence as Ember does, and the syntax
        // alone checks clean.
        let full = ember(dir.path(), &["config", "prometheus.yml"]);
        let token = "/var/run/secrets/kubernetes.io/serviceaccount/token";
        let in_pod = Path::new(token).exists();
        let syntax_only = full.status.code() == Some(1) && !in_pod;
        let out = if syntax_only {
            let stderr = text(&full.stderr);
            assert!(
                stderr.contains(&format!("bearer token file \"{token}\"")),
                "{prefix}: {stderr}"
            );
            ember(dir.path(), &["config", "--syntax-only", "prometheus.yml"])
        } else {
            full
        };
        let stdout = text(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{prefix}: {stdout}{}",
            text(&out.stderr)
        );
        assert!(stdout.contains(" SUCCESS: prometheus.yml is valid prometheus config file syntax"));
        let names_rules = std::fs::read_to_string(dir.join("prometheus.yml"))
            .expect("read")
            .contains("alert_rules.yml");
        if names_rules && !syntax_only {
            assert!(
                stdout.contains(&format!("  SUCCESS: {expected_rules} rule files found")),
                "{prefix}: {stdout}"
            );
        }
    }
    for entry in std::fs::read_dir(&seeds).expect("seeds") {
        let path = entry.expect("entry").path();
        if path.to_string_lossy().ends_with("-rules.yml") {
            let out = ember(&seeds, &["rules", path.to_str().expect("utf-8 path")]);
            assert_eq!(
                out.status.code(),
                Some(0),
                "{}: {}",
                path.display(),
                text(&out.stderr)
            );
            assert!(text(&out.stdout).contains("  SUCCESS: "));
        }
    }
}
