//! Helpers shared by the remote-write and federation tests: requests built with the
//! receiver's own prost types, and Debian's Prometheus tools.

#![allow(dead_code)] // Each test binary uses a different part.

#[path = "../../src/api/remote_write/proto.rs"]
pub mod proto;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use prost::Message;
use proto::v2;

use crate::common::{Ember, Workdir, TIMEOUT};

pub const V2_CONTENT_TYPE: &str = "application/x-protobuf;proto=io.prometheus.write.v2.Request";

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

pub fn data_arg(w: &Workdir) -> String {
    format!("--storage.tsdb.path={}", w.arg("data"))
}

/// An HTTP answer.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

pub fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// POSTs `body` as is, with the given `Content-Type` and `Content-Encoding`.
pub fn post_raw(
    ember: &Ember,
    content_type: Option<&str>,
    encoding: Option<&str>,
    body: Vec<u8>,
) -> Answer {
    let mut req = client().post(ember.url("/api/v1/write")).body(body);
    if let Some(ct) = content_type {
        req = req.header("Content-Type", ct);
    }
    if let Some(enc) = encoding {
        req = req.header("Content-Encoding", enc);
    }
    let resp = req.send().expect("request");
    Answer {
        status: resp.status().as_u16(),
        headers: resp.headers().clone(),
        body: resp.text().unwrap(),
    }
}

/// Announces a 32 MiB + 1 body and, without sending it, reads the answer's status line
/// and body (`<status line>|<body>`).
pub fn oversized_request(ember: &Ember) -> String {
    use std::io::{Read, Write};
    let mut conn = std::net::TcpStream::connect(("127.0.0.1", ember.port)).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        conn,
        "POST /api/v1/write HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-protobuf\r\n\
         Content-Encoding: snappy\r\nContent-Length: {}\r\n\r\n",
        32 * 1024 * 1024 + 1
    )
    .unwrap();
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match conn.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
        }
        let text = String::from_utf8_lossy(&answer);
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length: "))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            if body.len() >= len {
                return format!("{}|{body}", head.lines().next().unwrap_or_default());
            }
        }
    }
    String::from_utf8_lossy(&answer).into_owned()
}

pub fn snappy(bytes: &[u8]) -> Vec<u8> {
    snap::raw::Encoder::new().compress_vec(bytes).unwrap()
}

pub fn post_v1(ember: &Ember, req: &proto::WriteRequest) -> Answer {
    post_raw(
        ember,
        Some("application/x-protobuf"),
        Some("snappy"),
        snappy(&req.encode_to_vec()),
    )
}

pub fn post_v2(ember: &Ember, req: &v2::Request) -> Answer {
    post_raw(
        ember,
        Some(V2_CONTENT_TYPE),
        Some("snappy"),
        snappy(&req.encode_to_vec()),
    )
}

pub fn series(labels: &[(&str, &str)], samples: &[(i64, f64)]) -> proto::TimeSeries {
    proto::TimeSeries {
        labels: labels
            .iter()
            .map(|(n, v)| proto::Label {
                name: n.to_string(),
                value: v.to_string(),
            })
            .collect(),
        samples: samples
            .iter()
            .map(|&(timestamp, value)| proto::Sample { value, timestamp })
            .collect(),
        ..Default::default()
    }
}

pub fn v1(timeseries: Vec<proto::TimeSeries>) -> proto::WriteRequest {
    proto::WriteRequest {
        timeseries,
        metadata: vec![],
    }
}

/// The path of an installed tool, or `None` (test skipped) when it is missing and interop
/// is not required (`EMBER_INTEROP=require`).
pub fn tool(name: &str) -> Option<std::path::PathBuf> {
    let found = ["/usr/bin", "/usr/sbin", "/usr/local/bin"]
        .iter()
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file());
    if found.is_none() {
        if std::env::var("EMBER_INTEROP").as_deref() == Ok("require") {
            panic!("{name} is not installed, and EMBER_INTEROP=require");
        }
        eprintln!(
            "SKIPPING: {name} is not installed (Debian packages prometheus, \
             prometheus-node-exporter); set EMBER_INTEROP=require to fail instead"
        );
    }
    found
}

/// A child process killed (by PID) when dropped.
pub struct Guard(pub Child);

impl Drop for Guard {
    fn drop(&mut self) {
        if self.0.try_wait().ok().flatten().is_none() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

impl Guard {
    pub fn terminate(&mut self) {
        let pid = i32::try_from(self.0.id()).unwrap();
        // SAFETY: kill() signals only the process this test started.
        unsafe { libc::kill(pid, libc::SIGTERM) };
        let started = Instant::now();
        while self.0.try_wait().unwrap().is_none() {
            assert!(started.elapsed() < Duration::from_secs(90), "did not stop");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

pub fn wait_http_ok(url: &str, child: &mut Guard, log: &Path) {
    let started = Instant::now();
    loop {
        if client()
            .get(url)
            .send()
            .is_ok_and(|r| r.status().is_success())
        {
            return;
        }
        assert!(
            child.0.try_wait().unwrap().is_none(),
            "exited: {}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        assert!(started.elapsed() < TIMEOUT, "{url} not up in time");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Starts Debian's Prometheus on `config` with a data directory in `dir`.
pub fn start_prometheus(bin: &Path, dir: &Path, config: &str, port: u16, name: &str) -> Guard {
    let config_path = dir.join(format!("{name}.yml"));
    std::fs::write(&config_path, config).unwrap();
    let log = dir.join(format!("{name}.log"));
    let mut guard = Guard(
        Command::new(bin)
            .arg(format!("--config.file={}", config_path.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("prometheus-data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap(),
    );
    wait_http_ok(
        &format!("http://127.0.0.1:{port}/-/ready"),
        &mut guard,
        &log,
    );
    guard
}
