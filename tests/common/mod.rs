//! Running the real `ember` binary in tests: on 127.0.0.1 ephemeral ports, in temporary
//! directories, always killed (by PID) when the test ends, even by a panic.

#![allow(dead_code)] // Each test binary uses a different part of this module.

use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_ember");

/// How long a server may take to start or stop before the test fails.
pub const TIMEOUT: Duration = Duration::from_secs(20);

/// A free TCP port on 127.0.0.1 (free when this returns; [`Ember::start`] retries if
/// another process takes it first).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free port")
}

/// A running `ember` process.
pub struct Ember {
    child: Child,
    pub port: u16,
    log: Arc<Mutex<Vec<String>>>,
    reader: Option<JoinHandle<()>>,
    exit: Option<ExitStatus>,
}

impl Ember {
    /// Starts `ember args... --web.listen-address=127.0.0.1:<free port>` in `cwd`.
    pub fn start(cwd: &Path, args: &[&str]) -> Ember {
        for _ in 0..5 {
            let port = free_port();
            let listen = format!("--web.listen-address=127.0.0.1:{port}");
            let mut all: Vec<&str> = args.to_vec();
            all.push(&listen);
            let mut ember = Ember::spawn(cwd, &all, port);
            // Retry only if another process took the port in the meantime.
            let started = Instant::now();
            while started.elapsed() < TIMEOUT {
                if ember.get("/-/healthy").is_some() {
                    return ember;
                }
                if ember.try_exit().is_some() {
                    ember.wait_exit(); // collects the whole log
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            let log = ember.log().join("\n");
            if !log.contains("Unable to start web listener") {
                panic!("ember did not come up; its log:\n{log}");
            }
        }
        panic!("could not find a free port");
    }

    /// Starts `ember args...` exactly as given (the caller chooses the listen address).
    pub fn spawn(cwd: &Path, args: &[&str], port: u16) -> Ember {
        let mut child = Command::new(BIN)
            .args(args)
            .current_dir(cwd)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn ember");
        let stderr = child.stderr.take().expect("stderr is piped");
        let log = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&log);
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                sink.lock().unwrap().push(line);
            }
        });
        Ember {
            child,
            port,
            log,
            reader: Some(reader),
            exit: None,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// GETs `path`; `None` if the connection fails.
    pub fn get(&self, path: &str) -> Option<Answer> {
        request(reqwest::Method::GET, &self.url(path))
    }

    pub fn post(&self, path: &str) -> Option<Answer> {
        request(reqwest::Method::POST, &self.url(path))
    }

    /// Waits until `/-/ready` answers 200.
    pub fn wait_ready(&mut self) {
        let started = Instant::now();
        while started.elapsed() < TIMEOUT {
            if self.get("/-/ready").is_some_and(|a| a.status == 200) {
                return;
            }
            if let Some(status) = self.try_exit() {
                panic!(
                    "ember exited ({status}) before being ready; its log:\n{}",
                    self.log().join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!(
            "ember not ready in time; its log:\n{}",
            self.log().join("\n")
        );
    }

    /// Sends a signal to the process.
    pub fn signal(&self, signal: i32) {
        let pid = i32::try_from(self.child.id()).expect("pid fits in pid_t");
        // SAFETY: kill() only sends a signal to the process we started.
        let rc = unsafe { libc::kill(pid, signal) };
        assert_eq!(rc, 0, "kill({pid}, {signal}) failed");
    }

    /// The exit status, if the process has exited.
    pub fn try_exit(&mut self) -> Option<ExitStatus> {
        if self.exit.is_none() {
            self.exit = self.child.try_wait().expect("try_wait");
        }
        self.exit
    }

    /// Waits for the process to exit; its log is complete afterwards.
    pub fn wait_exit(&mut self) -> ExitStatus {
        let started = Instant::now();
        while started.elapsed() < TIMEOUT {
            if let Some(status) = self.try_exit() {
                if let Some(reader) = self.reader.take() {
                    let _ = reader.join();
                }
                return status;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!(
            "ember did not exit in time; its log:\n{}",
            self.log().join("\n")
        );
    }

    /// SIGTERM, then waits for the exit.
    pub fn terminate(&mut self) -> ExitStatus {
        self.signal(libc::SIGTERM);
        self.wait_exit()
    }

    /// The stderr lines so far.
    pub fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    /// Waits until some log line satisfies `pred`.
    pub fn wait_for_log(&self, pred: impl Fn(&str) -> bool) -> bool {
        let started = Instant::now();
        while started.elapsed() < TIMEOUT {
            if self.log().iter().any(|l| pred(l)) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        false
    }

    /// How many log lines satisfy `pred`.
    pub fn count_log(&self, pred: impl Fn(&str) -> bool) -> usize {
        self.log().iter().filter(|l| pred(l)).count()
    }
}

impl Drop for Ember {
    fn drop(&mut self) {
        if self.try_exit().is_none() {
            // Never leave a server behind, whatever happened in the test.
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// An HTTP answer.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

fn request(method: reqwest::Method, url: &str) -> Option<Answer> {
    let client = reqwest::blocking::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(5))
        .build()
        .expect("http client");
    let response = client.request(method, url).send().ok()?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.text().ok()?;
    Some(Answer {
        status,
        headers,
        body,
    })
}

/// What a process that ran to its end printed.
#[derive(Debug)]
pub struct Output {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }
}

/// Runs `ember args...` in `cwd` to its end (killing it after [`TIMEOUT`]).
pub fn run(cwd: &Path, args: &[&str]) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn ember");
    let mut stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status;
        }
        if started.elapsed() > TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("ember {args:?} did not exit in time");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Output {
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    }
}

/// A temporary working directory with a minimal `prometheus.yml`.
pub struct Workdir {
    pub dir: tempfile::TempDir,
}

impl Workdir {
    pub fn new() -> Workdir {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("prometheus.yml"), MINIMAL_CONFIG).expect("write config");
        Workdir { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn join(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `path` as a string argument.
    pub fn arg(&self, name: &str) -> String {
        self.join(name).display().to_string()
    }
}

pub const MINIMAL_CONFIG: &str = "global:\n  scrape_interval: 15s\nscrape_configs:\n  - job_name: prometheus\n    static_configs:\n      - targets: ['localhost:9090']\n";

/// Parses one logfmt line into (key, value) pairs, undoing Go-style quoting. `None` if
/// the line is not well-formed logfmt.
pub fn parse_logfmt(line: &str) -> Option<Vec<(String, String)>> {
    let mut pairs = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.peek() == Some(&' ') {
            chars.next();
        }
        if chars.peek().is_none() {
            return Some(pairs);
        }
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c == ' ' {
                break;
            }
            key.push(c);
            chars.next();
        }
        if key.is_empty() || chars.next() != Some('=') {
            return None;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next()? {
                    '"' => break,
                    '\\' => match chars.next()? {
                        'n' => value.push('\n'),
                        't' => value.push('\t'),
                        'r' => value.push('\r'),
                        c => value.push(c),
                    },
                    c => value.push(c),
                }
            }
            if !matches!(chars.peek(), None | Some(' ')) {
                return None;
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ' ' {
                    break;
                }
                if c == '"' || c == '=' {
                    return None;
                }
                value.push(c);
                chars.next();
            }
        }
        pairs.push((key, value));
    }
}

/// The value of `key` in a logfmt line.
pub fn logfmt_value(line: &str, key: &str) -> Option<String> {
    parse_logfmt(line)?
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
}
