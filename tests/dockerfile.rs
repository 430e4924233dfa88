//! The Dockerfile keeps prom/prometheus's layout and default arguments, and those
//! arguments are a valid Ember command line.

mod common;

use common::{run, Workdir};

const DOCKERFILE: &str = include_str!("../Dockerfile");

/// The Dockerfile's instructions, continuation lines joined, comments dropped.
fn instructions() -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in DOCKERFILE.lines() {
        let trimmed = line.trim();
        if current.is_empty() && (trimmed.is_empty() || trimmed.starts_with('#')) {
            continue;
        }
        match trimmed.strip_suffix('\\') {
            Some(head) => {
                current.push_str(head);
                current.push(' ');
            }
            None => {
                current.push_str(trimmed);
                out.push(std::mem::take(&mut current));
            }
        }
    }
    out
}

fn instruction(keyword: &str) -> Vec<String> {
    instructions()
        .into_iter()
        .filter_map(|i| {
            i.strip_prefix(keyword)
                .filter(|rest| rest.starts_with(' '))
                .map(|rest| rest.trim().to_string())
        })
        .collect()
}

fn json_array(text: &str) -> Vec<String> {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

#[test]
fn final_stage_matches_prometheus_image_layout() {
    // prom/prometheus (Prometheus's Dockerfile): WORKDIR /prometheus, USER nobody,
    // EXPOSE 9090, VOLUME /prometheus, and these default arguments.
    assert_eq!(instruction("WORKDIR").last().unwrap(), "/prometheus");
    assert_eq!(instruction("EXPOSE"), ["9090"]);
    assert_eq!(json_array(&instruction("VOLUME")[0]), ["/prometheus"]);
    assert_eq!(instruction("USER"), ["65534:65534"], "nobody");
    assert_eq!(json_array(&instruction("ENTRYPOINT")[0]), ["/bin/ember"]);
    assert_eq!(
        json_array(&instruction("CMD")[0]),
        [
            "--config.file=/etc/prometheus/prometheus.yml",
            "--storage.tsdb.path=/prometheus"
        ]
    );
    let runs = instruction("RUN").join("\n");
    assert!(runs.contains("ln -s ember /bin/prometheus"), "{runs}");
    assert!(runs.contains("chown -R 65534:65534 /etc/prometheus /prometheus"));
}

#[test]
fn copied_sources_exist_and_default_arguments_parse() {
    let copies = instruction("COPY");
    let config = copies
        .iter()
        .find(|c| c.ends_with("/etc/prometheus/prometheus.yml"))
        .expect("the default configuration is installed");
    let source = config.split_whitespace().next().unwrap();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(source);
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        include_str!("../src/default-config.yml")
    );

    // Ember accepts the image's arguments: with --help appended, a bad flag would still
    // fail (unknown flags are reported before help).
    let mut args = json_array(&instruction("CMD")[0]);
    args.push("--help".into());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run(Workdir::new().path(), &args);
    assert_eq!(out.code(), Some(0), "{}", out.stderr);
    assert!(out.stdout.starts_with("usage: "));
}
