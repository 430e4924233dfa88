//! Every configuration and rule file of the real deployments in
//! `../shared/seed-configs/` loads, and every configuration reads back the same from its
//! own `to_yaml()`.

use std::path::PathBuf;

use ember_config::{Config, RuleFile, RuleKind};

fn seeds_dir() -> PathBuf {
    std::env::var_os("EMBER_SEEDS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/seed-configs")
        })
}

fn seed_files(suffix: &str) -> Vec<PathBuf> {
    let dir = seeds_dir();
    assert!(
        dir.is_dir(),
        "seed configs not found at {} (set EMBER_SEEDS_DIR)",
        dir.display()
    );
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(suffix))
        .collect();
    files.sort();
    files
}

#[test]
fn every_seed_configuration_loads_and_round_trips() {
    let files = seed_files("-prometheus.yml");
    assert!(files.len() >= 4, "only {} seed configurations", files.len());
    for path in files {
        let cfg = Config::load(&path).unwrap_or_else(|e| panic!("{e}"));
        assert!(!cfg.scrape_configs.is_empty(), "{}", path.display());
        let yaml = cfg.to_yaml();
        let dir = path.parent().unwrap();
        let again = Config::from_str(&yaml, dir)
            .unwrap_or_else(|e| panic!("{}: written back:\n{yaml}\n{e}", path.display()));
        assert_eq!(again.to_yaml(), yaml, "{}", path.display());
        // Secrets are written as `<secret>`, so only a secret-free configuration reads
        // back identical.
        if !yaml.contains("<secret>") {
            assert!(again == cfg, "{}: written back:\n{yaml}", path.display());
        }
    }
}

#[test]
fn seed_configurations_mean_what_prometheus_reads() {
    let c = Config::load(seeds_dir().join("c-prometheus.yml")).unwrap();
    assert_eq!(c.global.external_labels["cluster"], "pynomaly-production");
    let api = &c.scrape_configs[0];
    assert_eq!(api.params["format"], ["prometheus"]);
    let blackbox = c
        .scrape_configs
        .iter()
        .find(|s| s.job_name == "blackbox")
        .unwrap();
    assert_eq!(blackbox.metrics_path, "/probe");
    assert_eq!(blackbox.relabel_configs.len(), 3);
    let k8s = c
        .scrape_configs
        .iter()
        .find(|s| s.job_name == "kubernetes-apiservers")
        .unwrap();
    assert_eq!(k8s.service_discovery.kinds(), ["kubernetes"]);
    assert_eq!(k8s.service_discovery.kubernetes[0].role, "endpoints");
    let auth = k8s.http_client.authorization.as_ref().unwrap();
    assert_eq!(
        auth.credentials_file,
        "/var/run/secrets/kubernetes.io/serviceaccount/token"
    );
    let rw = &c.remote_write[0];
    assert_eq!(
        rw.http_client
            .basic_auth
            .as_ref()
            .unwrap()
            .password
            .expose(),
        "secure-password"
    );
    assert!(!c.to_yaml().contains("secure-password"));
}

#[test]
fn every_seed_rule_file_loads() {
    let files = seed_files("-rules.yml");
    assert!(files.len() >= 4, "only {} seed rule files", files.len());
    let mut rules = 0;
    for path in files {
        let f = RuleFile::load(&path).unwrap_or_else(|e| panic!("{e}"));
        for g in &f.groups {
            for r in &g.rules {
                rules += 1;
                if let RuleKind::Alerting { annotations, .. } = &r.kind {
                    assert!(annotations.contains_key("summary"), "{}", r.name());
                }
            }
        }
    }
    assert!(rules > 40, "{rules} rules");
}
