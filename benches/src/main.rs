//! `ember-bench`: Ember side by side with Prometheus on the same workload.
//!
//! ```text
//! ember-bench rw-throughput [--series N] [--duration SECONDS] [--batch N]
//!                           [--concurrency N] [--ember PATH] [--prometheus PATH]
//! ember-bench query-latency [--series N] [--duration SECONDS] [--repeat N]
//!                           [--ember PATH] [--prometheus PATH]
//! ember-bench scrape [--targets N] [--series N] [--duration SECONDS] [--only SERVER]
//!                    [--ember PATH] [--prometheus PATH]
//! ```
//!
//! `scrape` ([`scrape_load`]) has each server scrape the same `--targets` targets of
//! `--series` series every 15 s and reports CPU per million scraped samples and memory
//! per series.
//!
//! `query-latency` ([`query_latency`]) loads the same workload into each server and times
//! a dashboard query set over HTTP, checking both give the same answers.
//!
//! `rw-throughput` starts each server in turn (Ember's release binary, then Debian's
//! Prometheus with `--web.enable-remote-write-receiver`) on 127.0.0.1 with a fresh data
//! directory, pushes the same pre-built remote-write 1.0 requests to each (a
//! node_exporter-like workload of `--series` series scraped every 15 s for `--duration`
//! seconds of simulated time, `--batch` samples a request, `--concurrency` senders), and
//! prints for each: samples per second, the server's CPU seconds per million samples
//! (user + system time from `/proc`), its resident memory after the ingest, and the
//! Ember/Prometheus ratios.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ember_bench::proc_stat::{cpu_time, rss_bytes};
use ember_bench::workload::Workload;

mod query_latency;
mod scrape_load;

const USAGE: &str = "usage: ember-bench rw-throughput [--series N] [--duration SECONDS] \
[--batch N] [--concurrency N] [--ember PATH] [--prometheus PATH]
       ember-bench query-latency [--series N] [--duration SECONDS] [--repeat N] \
[--ember PATH] [--prometheus PATH]
       ember-bench scrape [--targets N] [--series N] [--duration SECONDS] \
[--only ember|prometheus] [--ember PATH] [--prometheus PATH]";

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    RwThroughput,
    QueryLatency,
    Scrape,
}

struct Options {
    mode: Mode,
    repeat: usize,
    series: usize,
    duration_s: u64,
    batch: usize,
    concurrency: usize,
    ember: PathBuf,
    prometheus: PathBuf,
    targets: usize,
    only: Option<String>,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut o = Options {
        mode: Mode::RwThroughput,
        repeat: 5,
        series: 20_000,
        duration_s: 3600,
        batch: 2000,
        concurrency: 4,
        ember: PathBuf::from("target/release/ember"),
        prometheus: PathBuf::from("/usr/bin/prometheus"),
        targets: 1000,
        only: None,
    };
    if let Ok(dir) = std::env::var("CARGO_TARGET_DIR") {
        o.ember = Path::new(&dir).join("release/ember");
    }
    let mut it = args.iter();
    match it.next().map(String::as_str) {
        Some("rw-throughput") => {}
        Some("query-latency") => {
            o.mode = Mode::QueryLatency;
            o.series = 10_000;
            o.duration_s = 6 * 3600;
        }
        Some("scrape") => {
            o.mode = Mode::Scrape;
            o.series = 1000;
            o.duration_s = 120;
        }
        _ => return Err(USAGE.to_string()),
    }
    while let Some(flag) = it.next() {
        let (name, inline) = match flag.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (flag.as_str(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| it.next().cloned())
                .ok_or_else(|| format!("{name} needs a value\n{USAGE}"))
        };
        let number = |v: String| v.parse::<u64>().map_err(|e| format!("{name}: {e}"));
        match name {
            "--series" => o.series = number(value()?)? as usize,
            "--duration" => o.duration_s = number(value()?)?,
            "--batch" => o.batch = number(value()?)? as usize,
            "--concurrency" => o.concurrency = number(value()?)? as usize,
            "--repeat" => o.repeat = (number(value()?)? as usize).max(1),
            "--targets" => o.targets = (number(value()?)? as usize).max(1),
            "--only" => o.only = Some(value()?),
            "--ember" => o.ember = PathBuf::from(value()?),
            "--prometheus" => o.prometheus = PathBuf::from(value()?),
            _ => return Err(format!("unknown flag {name}\n{USAGE}")),
        }
    }
    // The servers run in their own temporary directories: paths must not be relative.
    for path in [&mut o.ember, &mut o.prometheus] {
        if let Ok(absolute) = std::path::absolute(&*path) {
            *path = absolute;
        }
    }
    if o.series == 0 || o.batch == 0 || o.concurrency == 0 || o.duration_s < 15 {
        return Err(format!(
            "--series, --batch, --concurrency must be positive and --duration at least 15\n{USAGE}"
        ));
    }
    Ok(o)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let options = match parse(&args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let outcome = match options.mode {
        Mode::RwThroughput => rw_throughput(&options),
        Mode::QueryLatency => query_latency::compare(
            &options.ember,
            &options.prometheus,
            options.series,
            options.duration_s,
            options.repeat,
        ),
        Mode::Scrape => {
            let servers: Vec<(&str, PathBuf)> = [
                ("ember", options.ember.clone()),
                ("prometheus", options.prometheus.clone()),
            ]
            .into_iter()
            .filter(|(name, _)| options.only.as_deref().is_none_or(|o| o == *name))
            .collect();
            scrape_load::compare(
                &servers,
                options.targets,
                options.series,
                options.duration_s,
            )
        }
    };
    if let Err(e) = outcome {
        eprintln!("ember-bench: {e}");
        std::process::exit(1);
    }
}

/// What one server did with the workload.
struct Measured {
    samples: u64,
    wall: Duration,
    cpu: Duration,
    rss: u64,
    refused: u64,
    first_error: Option<String>,
}

impl Measured {
    fn samples_per_second(&self) -> f64 {
        self.samples as f64 / self.wall.as_secs_f64()
    }

    fn cpu_per_million(&self) -> f64 {
        self.cpu.as_secs_f64() / (self.samples as f64 / 1e6)
    }
}

fn rw_throughput(o: &Options) -> Result<(), String> {
    for (path, package) in [
        (&o.ember, "(build it: cargo build --release)"),
        (
            &o.prometheus,
            "(Debian package: apt-get install prometheus)",
        ),
    ] {
        if !path.is_file() {
            return Err(format!("{} not found {package}", path.display()));
        }
    }
    let steps = o.duration_s / 15;
    let workload = Workload::new(o.series);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|e| e.to_string())?
        .as_millis() as i64;
    // The last scrape a minute ago: every sample is within both servers' head window.
    let t0 = now - 60_000 - steps as i64 * 15_000;
    eprintln!(
        "building {} requests ({} series x {steps} scrapes, {} samples a request)...",
        (o.series.div_ceil(o.batch)) as u64 * steps,
        o.series,
        o.batch
    );
    let requests = workload.requests(t0, steps, o.batch, o.concurrency);
    let bytes: usize = requests.iter().flatten().map(Vec::len).sum();
    let samples = o.series as u64 * steps;
    eprintln!(
        "{samples} samples in {:.1} MB of compressed requests",
        bytes as f64 / 1e6
    );

    let ember = run_server(Server::Ember, &o.ember, &requests, samples)?;
    let prometheus = run_server(Server::Prometheus, &o.prometheus, &requests, samples)?;

    println!(
        "\nremote-write 1.0 ingest: {} series x {steps} scrapes = {samples} samples, {} samples/request, {} senders",
        o.series, o.batch, o.concurrency
    );
    println!(
        "{:<12} {:>14} {:>10} {:>16} {:>10} {:>10}",
        "server", "samples/s", "cpu s", "cpu s/1M samples", "RSS MiB", "refused"
    );
    for (name, m) in [("ember", &ember), ("prometheus", &prometheus)] {
        println!(
            "{:<12} {:>14.0} {:>10.2} {:>16.3} {:>10.1} {:>10}",
            name,
            m.samples_per_second(),
            m.cpu.as_secs_f64(),
            m.cpu_per_million(),
            m.rss as f64 / (1024.0 * 1024.0),
            m.refused
        );
    }
    println!(
        "{:<12} {:>14.2} {:>10.2} {:>16.2} {:>10.2}",
        "ember/prom",
        ember.samples_per_second() / prometheus.samples_per_second(),
        ember.cpu.as_secs_f64() / prometheus.cpu.as_secs_f64(),
        ember.cpu_per_million() / prometheus.cpu_per_million(),
        ember.rss as f64 / prometheus.rss as f64
    );
    for (name, m) in [("ember", &ember), ("prometheus", &prometheus)] {
        if let Some(e) = &m.first_error {
            println!("{name}: {} requests refused; first: {e}", m.refused);
        }
    }
    Ok(())
}

#[derive(Clone, Copy, PartialEq)]
enum Server {
    Ember,
    Prometheus,
}

/// A server process, killed (by PID) when dropped.
struct Running {
    child: Child,
    _dir: tempfile::TempDir,
    port: u16,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| e.to_string())
}

/// The configuration of the remote-write benchmarks: nothing to scrape.
const PUSH_ONLY_CONFIG: &str = "global:\n  scrape_interval: 15s\n";

/// Starts a server (Ember or Prometheus: they take the same flags) on a fresh data
/// directory with `config_text`, the remote-write receiver on; returns once it is ready.
fn start(bin: &Path, config_text: &str) -> Result<Running, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let config = dir.path().join("prometheus.yml");
    std::fs::write(&config, config_text).map_err(|e| e.to_string())?;
    let port = free_port()?;
    let mut cmd = Command::new(bin);
    cmd.arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--web.enable-remote-write-receiver")
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.path().join("server.log")).map_err(|e| e.to_string())?);
    let child = cmd
        .spawn()
        .map_err(|e| format!("starting {}: {e}", bin.display()))?;
    let mut running = Running {
        child,
        _dir: dir,
        port,
    };
    let client = http_client()?;
    let started = Instant::now();
    loop {
        let ready = client
            .get(format!("http://127.0.0.1:{port}/-/ready"))
            .send()
            .is_ok_and(|r| r.status().is_success());
        if ready {
            return Ok(running);
        }
        if let Ok(Some(status)) = running.child.try_wait() {
            return Err(format!("{} exited at start-up ({status})", bin.display()));
        }
        if started.elapsed() > Duration::from_secs(60) {
            return Err(format!("{} not ready after 60 s", bin.display()));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn http_client() -> Result<reqwest::blocking::Client, String> {
    reqwest::blocking::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(120))
        .build()
        .map_err(|e| e.to_string())
}

fn run_server(
    server: Server,
    bin: &Path,
    requests: &[Vec<Vec<u8>>],
    samples: u64,
) -> Result<Measured, String> {
    let name = if server == Server::Ember {
        "ember"
    } else {
        "prometheus"
    };
    eprintln!("{name}: starting {}", bin.display());
    let running = start(bin, PUSH_ONLY_CONFIG)?;
    let pid = running.child.id();
    let url = format!("http://127.0.0.1:{}/api/v1/write", running.port);
    // Let start-up work settle before measuring.
    std::thread::sleep(Duration::from_secs(2));
    let cpu_before = cpu_time(pid).map_err(|e| e.to_string())?;
    let started = Instant::now();
    let outcomes: Vec<(u64, Option<String>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = requests
            .iter()
            .map(|shard| {
                let url = url.clone();
                scope.spawn(move || send_all(&url, shard))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or((u64::MAX, Some("sender panicked".into())))
            })
            .collect()
    });
    let wall = started.elapsed();
    let cpu = cpu_time(pid).map_err(|e| e.to_string())? - cpu_before;
    let rss = rss_bytes(pid).map_err(|e| e.to_string())?;
    let refused = outcomes.iter().map(|o| o.0).sum();
    let first_error = outcomes.into_iter().find_map(|o| o.1);
    eprintln!(
        "{name}: {samples} samples in {:.2} s, {:.2} CPU s",
        wall.as_secs_f64(),
        cpu.as_secs_f64()
    );
    drop(running);
    Ok(Measured {
        samples,
        wall,
        cpu,
        rss,
        refused,
        first_error,
    })
}

/// Sends one sender's requests in order; returns how many were not answered 2xx, and
/// the first such answer.
fn send_all(url: &str, bodies: &[Vec<u8>]) -> (u64, Option<String>) {
    let client = match http_client() {
        Ok(c) => c,
        Err(e) => return (bodies.len() as u64, Some(e)),
    };
    let mut refused = 0;
    let mut first = None;
    for body in bodies {
        let answer = client
            .post(url)
            .header("Content-Type", "application/x-protobuf")
            .header("Content-Encoding", "snappy")
            .header("X-Prometheus-Remote-Write-Version", "0.1.0")
            .header("User-Agent", "ember-bench")
            .body(body.clone())
            .send();
        match answer {
            Ok(r) if r.status().is_success() => {}
            Ok(r) => {
                refused += 1;
                if first.is_none() {
                    let status = r.status();
                    first = Some(format!("{status}: {}", r.text().unwrap_or_default().trim()));
                }
            }
            Err(e) => {
                refused += 1;
                if first.is_none() {
                    first = Some(e.to_string());
                }
            }
        }
    }
    (refused, first)
}
