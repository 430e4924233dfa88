//! Relabeling benchmarks.
//!
//! * `target/kubernetes`: the pod-scraping rules of a typical Kubernetes scrape config
//!   (the "kubernetes" case of Prometheus's `BenchmarkRelabel`, same rules and labels)
//!   on one discovered target.
//! * `metric/node_exporter`: typical `metric_relabel_configs` (drop Go runtime and idle
//!   CPU series, drop an id label, derive `mount` and `host`, add a static label) over
//!   1,000 node_exporter-like series, as a scrape applies them to new series.
//! * `metric/node_exporter_drop_only`: the same series through drop rules only, the
//!   most common metric relabeling (kept series pass through unchanged).
//!
//! Each is measured with `process_with` (reused buffer, result borrowed: the scrape path)
//! and `process` (owned result).
//!
//! Run: `cargo bench -p ember-config --bench relabel`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ember_config::{Config, RelabelConfig, Relabeler};
use ember_storage::Labels;

/// Reads the relabel rules of a one-job configuration.
fn rules(yaml: &str, metric: bool) -> Vec<RelabelConfig> {
    let key = if metric {
        "metric_relabel_configs"
    } else {
        "relabel_configs"
    };
    let indented: String = yaml.lines().map(|l| format!("    {l}\n")).collect();
    let cfg = Config::from_str(
        &format!("scrape_configs:\n- job_name: bench\n  {key}:\n{indented}"),
        "/",
    )
    .expect("benchmark rules load");
    let job = cfg.scrape_configs.into_iter().next().unwrap();
    if metric {
        job.metric_relabel_configs
    } else {
        job.relabel_configs
    }
}

const KUBERNETES_RULES: &str = r#"
- source_labels: [__meta_kubernetes_pod_container_port_name]
  regex: .*-metrics
  action: keep
- source_labels: [__meta_kubernetes_pod_label_name]
  action: drop
  regex: ""
- source_labels: [__meta_kubernetes_pod_phase]
  regex: Succeeded|Failed
  action: drop
- source_labels: [__meta_kubernetes_pod_annotation_prometheus_io_scrape]
  regex: "false"
  action: drop
- source_labels: [__meta_kubernetes_pod_annotation_prometheus_io_scheme]
  target_label: __scheme__
  regex: (https?)
  replacement: $1
  action: replace
- source_labels: [__meta_kubernetes_pod_annotation_prometheus_io_path]
  target_label: __metrics_path__
  regex: (.+)
  replacement: $1
  action: replace
- source_labels: [__address__, __meta_kubernetes_pod_annotation_prometheus_io_port]
  target_label: __address__
  regex: (.+?)(\:\d+)?;(\d+)
  replacement: $1:$3
  action: replace
- regex: __meta_kubernetes_pod_annotation_prometheus_io_param_(.+)
  replacement: __param_$1
  action: labelmap
- regex: __meta_kubernetes_pod_label_prometheus_io_label_(.+)
  action: labelmap
- regex: __meta_kubernetes_pod_annotation_prometheus_io_label_(.+)
  action: labelmap
- source_labels: [__meta_kubernetes_namespace, __meta_kubernetes_pod_label_name]
  separator: /
  target_label: job
  replacement: $1
  action: replace
- source_labels: [__meta_kubernetes_namespace]
  target_label: namespace
  action: replace
- source_labels: [__meta_kubernetes_pod_name]
  target_label: pod
  action: replace
- source_labels: [__meta_kubernetes_pod_container_name]
  target_label: container
  action: replace
- source_labels: [__meta_kubernetes_pod_name, __meta_kubernetes_pod_container_name, __meta_kubernetes_pod_container_port_name]
  separator: ':'
  target_label: instance
  action: replace
- target_label: cluster
  replacement: dev-us-central-0
- source_labels: [__meta_kubernetes_namespace]
  regex: hosted-grafana
  action: drop
- source_labels: [__address__]
  target_label: __tmp_hash
  modulus: 3
  action: hashmod
- source_labels: [__tmp_hash]
  regex: ^0$
  action: keep
- regex: __tmp_hash
  action: labeldrop
"#;

fn kubernetes_target() -> Labels {
    Labels::from_pairs([
        ("__address__", "10.132.183.40:80"),
        ("__meta_kubernetes_namespace", "loki-boltdb-shipper"),
        (
            "__meta_kubernetes_pod_annotation_promtail_loki_boltdb_shipper_hash",
            "50523b9759094a144adcec2eae0aa4ad",
        ),
        (
            "__meta_kubernetes_pod_annotationpresent_promtail_loki_boltdb_shipper_hash",
            "true",
        ),
        ("__meta_kubernetes_pod_container_init", "false"),
        ("__meta_kubernetes_pod_container_name", "promtail"),
        ("__meta_kubernetes_pod_container_port_name", "http-metrics"),
        ("__meta_kubernetes_pod_container_port_number", "80"),
        ("__meta_kubernetes_pod_container_port_protocol", "TCP"),
        ("__meta_kubernetes_pod_controller_kind", "DaemonSet"),
        (
            "__meta_kubernetes_pod_controller_name",
            "promtail-loki-boltdb-shipper",
        ),
        ("__meta_kubernetes_pod_host_ip", "10.128.0.178"),
        ("__meta_kubernetes_pod_ip", "10.132.183.40"),
        (
            "__meta_kubernetes_pod_label_controller_revision_hash",
            "555b77cd7d",
        ),
        (
            "__meta_kubernetes_pod_label_name",
            "promtail-loki-boltdb-shipper",
        ),
        ("__meta_kubernetes_pod_label_pod_template_generation", "45"),
        (
            "__meta_kubernetes_pod_labelpresent_controller_revision_hash",
            "true",
        ),
        ("__meta_kubernetes_pod_labelpresent_name", "true"),
        (
            "__meta_kubernetes_pod_labelpresent_pod_template_generation",
            "true",
        ),
        (
            "__meta_kubernetes_pod_name",
            "promtail-loki-boltdb-shipper-jgtr7",
        ),
        (
            "__meta_kubernetes_pod_node_name",
            "gke-dev-us-central-0-main-n2s8-2-14d53341-9hkr",
        ),
        ("__meta_kubernetes_pod_phase", "Running"),
        ("__meta_kubernetes_pod_ready", "true"),
        (
            "__meta_kubernetes_pod_uid",
            "4c586419-7f6c-448d-aeec-ca4fa5b05e60",
        ),
        ("__metrics_path__", "/metrics"),
        ("__scheme__", "http"),
        ("__scrape_interval__", "15s"),
        ("__scrape_timeout__", "10s"),
        ("job", "kubernetes-pods"),
    ])
}

const NODE_RULES: &str = r#"
- source_labels: [__name__]
  regex: 'go_.*|process_.*'
  action: drop
- source_labels: [__name__, mode]
  regex: 'node_cpu_seconds_total;(idle|iowait|steal)'
  action: drop
- regex: 'container_id|id'
  action: labeldrop
- source_labels: [mountpoint]
  regex: '/(.*)'
  target_label: mount
  replacement: 'mnt_$1'
- source_labels: [instance]
  regex: '([^:]+):\d+'
  target_label: host
- target_label: cluster
  replacement: prod
"#;

/// 1,000 series shaped like one node_exporter's output.
fn node_series() -> Vec<Labels> {
    let base = [("job", "node"), ("instance", "host-17.example.com:9100")];
    let mut out = Vec::new();
    let mut push = |name: &str, extra: &[(&str, &str)]| {
        let mut pairs: Vec<(&str, &str)> = base.to_vec();
        pairs.push(("__name__", name));
        pairs.extend_from_slice(extra);
        out.push(Labels::from_pairs(pairs));
    };
    let modes = [
        "idle", "iowait", "irq", "nice", "softirq", "steal", "system", "user",
    ];
    let cpus: Vec<String> = (0..48).map(|c| c.to_string()).collect();
    for cpu in &cpus {
        for mode in modes {
            push("node_cpu_seconds_total", &[("cpu", cpu), ("mode", mode)]);
        }
    }
    let mounts = ["/", "/boot", "/var/lib/docker", "/home", "/data", "/run"];
    for m in mounts {
        for metric in [
            "node_filesystem_avail_bytes",
            "node_filesystem_size_bytes",
            "node_filesystem_free_bytes",
            "node_filesystem_files",
            "node_filesystem_files_free",
            "node_filesystem_readonly",
        ] {
            push(
                metric,
                &[
                    ("device", "/dev/sda1"),
                    ("fstype", "ext4"),
                    ("mountpoint", m),
                ],
            );
        }
    }
    let devices: Vec<String> = (0..8).map(|d| format!("eth{d}")).collect();
    for d in &devices {
        for metric in [
            "node_network_receive_bytes_total",
            "node_network_transmit_bytes_total",
            "node_network_receive_packets_total",
            "node_network_transmit_packets_total",
            "node_network_receive_errs_total",
            "node_network_transmit_errs_total",
        ] {
            push(metric, &[("device", d)]);
        }
    }
    let ids: Vec<String> = (0..100).map(|i| format!("{i:064x}")).collect();
    for id in &ids {
        push("container_memory_usage_bytes", &[("id", id), ("name", "c")]);
    }
    let mut i = 0;
    while out.len() < 1000 {
        let name = match i % 3 {
            0 => format!("go_gc_metric_{i}"),
            1 => format!("process_metric_{i}"),
            _ => format!("node_misc_metric_{i}"),
        };
        let mut pairs: Vec<(&str, &str)> = base.to_vec();
        pairs.push(("__name__", &name));
        out.push(Labels::from_pairs(pairs));
        i += 1;
    }
    out
}

fn bench(c: &mut Criterion) {
    let k8s = Relabeler::new(&rules(KUBERNETES_RULES, false)).unwrap();
    let target = kubernetes_target();
    // As in Prometheus's benchmark, the hashmod sharding at the end drops this target
    // (its shard is not 0), after every other rule has run.
    eprintln!(
        "target/kubernetes: kept = {}",
        k8s.process(&target).is_some()
    );
    let mut g = c.benchmark_group("target");
    g.throughput(Throughput::Elements(1));
    let mut buf = k8s.buffer();
    g.bench_function("kubernetes/process_with", |b| {
        b.iter(|| {
            black_box(
                k8s.process_with(black_box(&target).as_ref(), &mut buf)
                    .is_some(),
            )
        })
    });
    g.bench_function("kubernetes/process", |b| {
        b.iter(|| black_box(k8s.process(black_box(&target))))
    });
    g.finish();

    let node = Relabeler::new(&rules(NODE_RULES, true)).unwrap();
    let series = node_series();
    let kept = series.iter().filter(|s| node.process(s).is_some()).count();
    eprintln!(
        "metric/node_exporter: {kept} of {} series kept",
        series.len()
    );
    let mut g = c.benchmark_group("metric");
    g.throughput(Throughput::Elements(series.len() as u64));
    let mut buf = node.buffer();
    g.bench_function("node_exporter/process_with", |b| {
        b.iter(|| {
            let mut n = 0usize;
            for s in &series {
                if let Some(l) = node.process_with(s.as_ref(), &mut buf) {
                    n += l.as_bytes().len();
                }
            }
            black_box(n)
        })
    });
    g.bench_function("node_exporter/process", |b| {
        b.iter(|| {
            let mut n = 0usize;
            for s in &series {
                if let Some(l) = node.process(s) {
                    n += l.len();
                }
            }
            black_box(n)
        })
    });
    g.finish();

    // Drop-only rules, the most common metric relabeling: kept series pass unchanged.
    let drop_only = Relabeler::new(&rules(DROP_RULES, true)).unwrap();
    let mut g = c.benchmark_group("metric");
    g.throughput(Throughput::Elements(series.len() as u64));
    let mut buf = drop_only.buffer();
    g.bench_function("node_exporter_drop_only/process_with", |b| {
        b.iter(|| {
            let mut n = 0usize;
            for s in &series {
                if let Some(l) = drop_only.process_with(s.as_ref(), &mut buf) {
                    n += l.as_bytes().len();
                }
            }
            black_box(n)
        })
    });
    g.finish();
}

const DROP_RULES: &str = r#"
- source_labels: [__name__]
  regex: 'go_.*|process_.*'
  action: drop
- source_labels: [__name__, mode]
  regex: 'node_cpu_seconds_total;(idle|iowait|steal)'
  action: drop
- source_labels: [__name__]
  regex: 'container_.*'
  action: drop
"#;

criterion_group!(benches, bench);
criterion_main!(benches);
