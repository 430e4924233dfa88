//! The command line of the real binary: `--version`, `--help`, kingpin's errors and
//! Prometheus's exit codes for bad flag combinations.

mod common;

use common::{run, Workdir};

#[test]
fn version_names_ember_in_prometheus_layout() {
    let w = Workdir::new();
    let out = run(w.path(), &["--version"]);
    assert_eq!(out.code(), Some(0));
    assert_eq!(out.stderr, "");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 5, "{}", out.stdout);
    assert!(lines[0].starts_with(&format!(
        "ember, version {} (branch: ",
        env!("CARGO_PKG_VERSION")
    )));
    assert!(lines[0].contains(", revision: "));
    for (line, key) in
        lines[1..]
            .iter()
            .zip(["build user:", "build date:", "rust version:", "platform:"])
    {
        assert!(line.starts_with(&format!("  {key}")), "{line}");
    }
    // --version wins over a later bad flag, as in kingpin.
    assert_eq!(run(w.path(), &["--version", "--nope"]).code(), Some(0));
}

#[test]
fn help_lists_the_visible_flags_with_defaults() {
    let w = Workdir::new();
    for flag in ["--help", "-h", "--help-long"] {
        let out = run(w.path(), &[flag]);
        assert_eq!(out.code(), Some(0), "{flag}");
        assert!(out.stdout.starts_with("usage: ember [<flags>]\n"), "{flag}");
    }
    let help = run(w.path(), &["--help"]).stdout;
    for expected in [
        "--config.file=\"prometheus.yml\"",
        "--storage.tsdb.path=\"data/\"",
        "--web.listen-address=\"0.0.0.0:9090\" ...",
        "--[no-]web.enable-lifecycle",
        "--log.level=info",
        "--log.format=logfmt",
        "--storage.tsdb.retention.time=STORAGE.TSDB.RETENTION.TIME",
        "--enable-feature=ENABLE-FEATURE ...",
    ] {
        assert!(help.contains(expected), "missing {expected:?}");
    }
    // Hidden flags are accepted but not listed.
    assert!(!help.contains("--storage.tsdb.wal-segment-size"));
}

#[test]
fn unknown_flag_fails_like_kingpin() {
    let w = Workdir::new();
    let out = run(w.path(), &["--storage.tsdb.path=x", "--nope"]);
    assert_eq!(out.code(), Some(2));
    assert_eq!(
        out.stderr,
        "Error parsing command line arguments: unknown long flag '--nope'\n"
    );
    assert!(out.stdout.starts_with("usage: ember [<flags>]"));
    // Nothing was started: no data directory.
    assert!(!w.join("x").exists());

    for (args, message) in [
        (&["-x"][..], "unknown short flag '-x'"),
        (&["--no-config.file"][..], "unknown long flag '--no-config.file'"),
        (&["--config.file"][..], "expected argument for flag '--config.file'"),
        (&["--web.enable-lifecycle=true"][..], "unexpected true"),
        (&["positional"][..], "unexpected positional"),
        (
            &["--config.file=a", "--config.file=b"][..],
            "flag 'config.file' cannot be repeated",
        ),
        (
            &["--storage.tsdb.retention.time=15days"][..],
            "invalid value \"15days\" for flag --storage.tsdb.retention.time: unknown unit \"days\" in duration \"15days\"",
        ),
        (
            &["--storage.tsdb.retention.size=1kB"][..],
            "invalid value \"1kB\" for flag --storage.tsdb.retention.size: units: unknown unit kB in 1kB",
        ),
        (
            &["--log.format=text"][..],
            "invalid value \"text\" for flag --log.format: unrecognized log format text",
        ),
    ] {
        let out = run(w.path(), args);
        assert_eq!(out.code(), Some(2), "{args:?}");
        assert_eq!(
            out.stderr,
            format!("Error parsing command line arguments: {message}\n"),
            "{args:?}"
        );
    }
}

#[test]
fn flag_combinations_fail_with_prometheus_exit_codes() {
    let w = Workdir::new();
    let out = run(w.path(), &["--storage.agent.path=wal"]);
    assert_eq!(out.code(), Some(3));
    assert_eq!(
        out.stderr,
        "The following flag(s) can only be used in agent mode: [\"--storage.agent.path\"]\n"
    );
    let out = run(w.path(), &["--agent", "--storage.tsdb.path=d"]);
    assert_eq!(out.code(), Some(3));
    assert!(out.stderr.contains("can not be used in agent mode"));
    let out = run(w.path(), &["--web.cors.origin=(", "--storage.tsdb.path=d"]);
    assert_eq!(out.code(), Some(2));
    assert!(out
        .stderr
        .starts_with("could not compile CORS regex string \"(\""));
    let out = run(w.path(), &["--web.external-url=\"http://x/\""]);
    assert_eq!(out.code(), Some(2));
    assert!(out.stderr.contains("URL must not begin or end with quotes"));
    let out = run(w.path(), &["--storage.tsdb.wal-segment-size=1GB"]);
    assert_eq!(out.code(), Some(1));
    assert_eq!(
        out.stderr,
        "flag 'storage.tsdb.wal-segment-size' must be set between 10MB and 256MB\n"
    );
    // TLS/auth cannot be silently dropped.
    let out = run(w.path(), &["--web.config.file=web.yml"]);
    assert_eq!(out.code(), Some(1));
    assert!(out.stderr.contains("not supported"), "{}", out.stderr);
}

#[test]
fn write_documentation_prints_the_flag_reference() {
    let w = Workdir::new();
    let out = run(w.path(), &["--write-documentation"]);
    assert_eq!(out.code(), Some(0));
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines[0], "| Flag | Description | Default | In Ember |");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("| `--storage.tsdb.path` |")
                && l.ends_with("| `data/` | active |"))
    );
    assert!(lines
        .iter()
        .any(|l| l.starts_with("| `--rules.alert.resend-delay` |") && l.contains("no effect yet")));
}
