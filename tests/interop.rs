//! Ember next to the real Prometheus tools (Debian's `prometheus` package).
//!
//! Skipped when the tools are not installed, unless `EMBER_INTEROP=require` (as in CI),
//! which makes a missing tool a failure.

mod common;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{free_port, logfmt_value, run, Ember, Workdir, TIMEOUT};

/// The path of an installed tool, or `None` (test skipped) when it is missing and
/// interop is not required.
fn tool(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/bin"), PathBuf::from("/usr/sbin")])
        .map(|dir| dir.join(name))
        .find(|p| p.is_file());
    if found.is_none() {
        if std::env::var("EMBER_INTEROP").as_deref() == Ok("require") {
            panic!("{name} is not installed, and EMBER_INTEROP=require");
        }
        eprintln!("skipping: {name} is not installed (set EMBER_INTEROP=require to fail instead)");
    }
    found
}

/// A child process killed (by PID) when dropped.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        if self.0.try_wait().ok().flatten().is_none() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

fn http_status(url: &str) -> Option<u16> {
    reqwest::blocking::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(5))
        .build()
        .ok()?
        .get(url)
        .send()
        .ok()
        .map(|r| r.status().as_u16())
}

#[test]
fn ember_and_prometheus_never_share_a_data_directory() {
    let Some(prometheus) = tool("prometheus") else {
        return;
    };
    let w = Workdir::new();
    let data = format!("--storage.tsdb.path={}", w.arg("data"));
    let config = format!("--config.file={}", w.arg("prometheus.yml"));
    // Debian's build turns the lock file off unless asked (a packaging patch renames
    // --storage.tsdb.no-lockfile to --storage.tsdb.use-lockfile); upstream's locks always.
    let help = Command::new(&prometheus).arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout) + String::from_utf8_lossy(&help.stderr);
    let mut prometheus_args = vec![config.clone(), data.clone()];
    if help.contains("--storage.tsdb.use-lockfile") {
        prometheus_args.push("--storage.tsdb.use-lockfile".to_string());
    }

    // Prometheus holds the directory: Ember refuses it.
    let port = free_port();
    let log = std::fs::File::create(w.join("prometheus.log")).unwrap();
    let mut real = Guard(
        Command::new(&prometheus)
            .args(&prometheus_args)
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .current_dir(w.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap(),
    );
    let started = Instant::now();
    while http_status(&format!("http://127.0.0.1:{port}/-/ready")) != Some(200) {
        assert!(
            real.0.try_wait().unwrap().is_none(),
            "prometheus exited: {}",
            std::fs::read_to_string(w.join("prometheus.log")).unwrap_or_default()
        );
        assert!(started.elapsed() < TIMEOUT, "prometheus not ready in time");
        std::thread::sleep(Duration::from_millis(20));
    }
    // Port 0: the OS picks one, so this process cannot race for a port.
    let refused = run(w.path(), &[&data, "--web.listen-address=127.0.0.1:0"]);
    assert_eq!(refused.code(), Some(1), "{}", refused.stderr);
    let fatal = refused
        .stderr
        .lines()
        .find(|l| logfmt_value(l, "msg").as_deref() == Some("Fatal error"))
        .unwrap_or_else(|| panic!("{}", refused.stderr));
    assert!(logfmt_value(fatal, "err").unwrap().contains("locked"));

    // Stop Prometheus; Ember now opens the directory Prometheus wrote.
    let pid = i32::try_from(real.0.id()).unwrap();
    // SAFETY: kill() signals only the process this test started.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let status = real.0.wait().unwrap();
    assert!(status.success(), "prometheus exited with {status}");
    let mut ember = Ember::start(w.path(), &[&config, &data]);
    ember.wait_ready();

    // Ember holds the directory: Prometheus refuses it.
    let refused = Command::new(&prometheus)
        .args(&prometheus_args)
        .arg("--web.listen-address=127.0.0.1:0")
        .current_dir(w.path())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("lock DB directory"), "{stderr}");
    assert_eq!(ember.terminate().code(), Some(0));
}

#[test]
fn promtool_accepts_the_metrics_exposition() {
    let Some(promtool) = tool("promtool") else {
        return;
    };
    let w = Workdir::new();
    let mut ember = Ember::start(
        w.path(),
        &[&format!("--storage.tsdb.path={}", w.arg("data"))],
    );
    ember.wait_ready();
    ember.get("/-/healthy").unwrap();
    let exposition = ember.get("/metrics").unwrap().body;
    ember.terminate();

    let mut check = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    check
        .stdin
        .take()
        .unwrap()
        .write_all(exposition.as_bytes())
        .unwrap();
    let out = check.wait_with_output().unwrap();
    // promtool exits 1 on a parse error and 3 on lint problems, printing them.
    assert!(
        out.status.success(),
        "promtool check metrics: {}\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
