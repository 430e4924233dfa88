//! Reading `file_sd_configs` files: the target-group list format Prometheus documents
//! (docs/configuration/configuration.md, `<file_sd_config>`), in JSON and YAML.

use std::collections::BTreeMap;

use ember_config::TargetGroup;

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, text).expect("write");
    path
}

#[test]
fn json_and_yaml_lists_read_the_same() {
    let dir = tempfile::tempdir().expect("tempdir");
    let json = write(
        &dir,
        "t.json",
        r#"[{"targets": ["a:9100", "b:9100"], "labels": {"env": "prod"}}, {"targets": ["c:1"]}]"#,
    );
    let yaml = write(
        &dir,
        "t.yml",
        "- targets: ['a:9100', 'b:9100']\n  labels:\n    env: prod\n- targets: ['c:1']\n",
    );
    let expected = vec![
        TargetGroup {
            targets: vec!["a:9100".into(), "b:9100".into()],
            labels: BTreeMap::from([("env".to_string(), "prod".to_string())]),
        },
        TargetGroup {
            targets: vec!["c:1".into()],
            labels: BTreeMap::new(),
        },
    ];
    assert_eq!(TargetGroup::load_file(&json).expect("json"), expected);
    assert_eq!(TargetGroup::load_file(&yaml).expect("yaml"), expected);
    let empty = write(&dir, "e.yaml", "");
    assert_eq!(TargetGroup::load_file(&empty).expect("empty"), vec![]);
}

#[test]
fn bad_files_are_errors_naming_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ext = write(&dir, "t.txt", "[]");
    let e = TargetGroup::load_file(&ext)
        .expect_err("extension")
        .to_string();
    assert!(e.contains("invalid file extension: \".txt\""), "{e}");
    let null = write(&dir, "n.yml", "- targets: ['a:1']\n- null\n");
    let e = TargetGroup::load_file(&null)
        .expect_err("null item")
        .to_string();
    assert!(
        e.contains("nil target group item found (index 1)") && e.contains("n.yml"),
        "{e}"
    );
    let wrong = write(&dir, "w.json", r#"[{"targets": "a:1"}]"#);
    let e = TargetGroup::load_file(&wrong)
        .expect_err("wrong type")
        .to_string();
    assert!(e.contains("w.json:1"), "{e}");
    let unknown = write(&dir, "u.yml", "- targets: ['a:1']\n  lables: {}\n");
    let e = TargetGroup::load_file(&unknown)
        .expect_err("unknown field")
        .to_string();
    assert!(e.contains("u.yml:2") && e.contains("lables"), "{e}");
}
