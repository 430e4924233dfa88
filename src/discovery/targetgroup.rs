//! Target groups, and reading lists of them from JSON (file and HTTP discovery) and
//! YAML (file discovery) as Prometheus's `targetgroup.Group` reads them.

use std::collections::BTreeMap;

/// A group of targets from one source, as Prometheus's `targetgroup.Group`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TargetGroup {
    /// Unique within its provider (`0`… for static configs, `path:i` for files,
    /// `url:i` for HTTP, the name for DNS).
    pub source: String,
    /// One label set per target; each has `__address__` and any `__meta_*` labels.
    pub targets: Vec<BTreeMap<String, String>>,
    /// Labels common to the group's targets.
    pub labels: BTreeMap<String, String>,
}

/// The label holding a target's address.
pub const ADDRESS_LABEL: &str = "__address__";

/// Most groups, and targets per group, accepted from one file or response.
const MAX_GROUPS: usize = 1_000_000;

impl TargetGroup {
    /// A group of `{__address__: t}` targets.
    pub fn from_addresses<'a>(
        source: String,
        addresses: impl IntoIterator<Item = &'a str>,
        labels: BTreeMap<String, String>,
    ) -> TargetGroup {
        TargetGroup {
            source,
            targets: addresses
                .into_iter()
                .map(|a| BTreeMap::from([(ADDRESS_LABEL.to_string(), a.to_string())]))
                .collect(),
            labels,
        }
    }
}

/// A group as written in a file or response: addresses and labels, no source yet.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct RawGroup {
    pub targets: Vec<String>,
    pub labels: BTreeMap<String, String>,
}

/// `[{"targets": [...], "labels": {...}}, ...]`. Unknown fields are errors, as Go's
/// decoder with `DisallowUnknownFields`.
pub(crate) fn parse_json(data: &[u8]) -> Result<Vec<RawGroup>, String> {
    let v: serde_json::Value = serde_json::from_slice(data).map_err(|e| e.to_string())?;
    let items = match v {
        serde_json::Value::Null => return Ok(Vec::new()),
        serde_json::Value::Array(items) => items,
        other => {
            return Err(format!(
                "json: cannot unmarshal {} into Go value of type []*targetgroup.Group",
                json_kind(&other)
            ))
        }
    };
    check_count(items.len())?;
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let obj = match item {
            serde_json::Value::Null => return Err("nil target group item found".into()),
            serde_json::Value::Object(o) => o,
            other => {
                return Err(format!(
                    "json: cannot unmarshal {} into Go value of type targetgroup.Group",
                    json_kind(&other)
                ))
            }
        };
        let mut g = RawGroup::default();
        for (k, v) in obj {
            match k.as_str() {
                "targets" => match v {
                    serde_json::Value::Null => {}
                    serde_json::Value::Array(ts) => {
                        check_count(ts.len())?;
                        for t in ts {
                            match t {
                                serde_json::Value::String(s) => g.targets.push(s),
                                other => return Err(format!(
                                    "json: cannot unmarshal {} into Go struct field .targets of type string",
                                    json_kind(&other)
                                )),
                            }
                        }
                    }
                    other => {
                        return Err(format!(
                            "json: cannot unmarshal {} into Go struct field .targets of type []string",
                            json_kind(&other)
                        ))
                    }
                },
                "labels" => match v {
                    serde_json::Value::Null => {}
                    serde_json::Value::Object(ls) => {
                        for (name, value) in ls {
                            check_label_name(&name)?;
                            match value {
                                serde_json::Value::String(s) => {
                                    g.labels.insert(name, s);
                                }
                                other => return Err(format!(
                                    "json: cannot unmarshal {} into Go struct field .labels of type model.LabelValue",
                                    json_kind(&other)
                                )),
                            }
                        }
                    }
                    other => {
                        return Err(format!(
                            "json: cannot unmarshal {} into Go struct field .labels of type model.LabelSet",
                            json_kind(&other)
                        ))
                    }
                },
                _ => return Err(format!("json: unknown field \"{k}\"")),
            }
        }
        out.push(g);
    }
    Ok(out)
}

fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "bool",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "array",
        serde_json::Value::Object(_) => "object",
    }
}

/// The YAML form of the same list, read strictly (unknown fields are errors) as
/// `yaml.UnmarshalStrict` does; scalar label values are taken as their text.
pub(crate) fn parse_yaml(data: &[u8]) -> Result<Vec<RawGroup>, String> {
    use serde_yaml::Value;
    let v: Value = serde_yaml::from_slice(data).map_err(|e| format!("yaml: {e}"))?;
    let items = match v {
        Value::Null => return Ok(Vec::new()),
        Value::Sequence(items) => items,
        _ => {
            return Err("yaml: unmarshal errors: cannot unmarshal into []*targetgroup.Group".into())
        }
    };
    check_count(items.len())?;
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let map = match item {
            Value::Null => return Err("nil target group item found".into()),
            Value::Mapping(m) => m,
            _ => {
                return Err(
                    "yaml: unmarshal errors: cannot unmarshal into targetgroup.Group".into(),
                )
            }
        };
        let mut g = RawGroup::default();
        for (k, v) in map {
            let key = yaml_scalar(&k).unwrap_or_default();
            match key.as_str() {
                "targets" => match v {
                    Value::Null => {}
                    Value::Sequence(ts) => {
                        check_count(ts.len())?;
                        for t in ts {
                            g.targets.push(yaml_scalar(&t).ok_or_else(|| {
                                "yaml: unmarshal errors: targets must be strings".to_string()
                            })?);
                        }
                    }
                    _ => return Err("yaml: unmarshal errors: targets must be a list".into()),
                },
                "labels" => match v {
                    Value::Null => {}
                    Value::Mapping(ls) => {
                        for (name, value) in ls {
                            let name = yaml_scalar(&name).ok_or_else(|| {
                                "yaml: unmarshal errors: label names must be strings".to_string()
                            })?;
                            check_label_name(&name)?;
                            let value = yaml_scalar(&value).ok_or_else(|| {
                                format!("yaml: unmarshal errors: value of label {name:?} must be a string")
                            })?;
                            g.labels.insert(name, value);
                        }
                    }
                    _ => return Err("yaml: unmarshal errors: labels must be a mapping".into()),
                },
                _ => {
                    return Err(format!(
                        "yaml: unmarshal errors: field {key} not found in type targetgroup.Group"
                    ))
                }
            }
        }
        out.push(g);
    }
    Ok(out)
}

/// A scalar's text (`1` and `true` read as strings, as Go's YAML decoder does for
/// string fields); `None` for a list or mapping. Null reads as empty.
fn yaml_scalar(v: &serde_yaml::Value) -> Option<String> {
    use serde_yaml::Value;
    match v {
        Value::Null => Some(String::new()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) => Some(s.clone()),
        Value::Tagged(t) => yaml_scalar(&t.value),
        Value::Sequence(_) | Value::Mapping(_) => None,
    }
}

/// Prometheus 3 accepts any non-empty UTF-8 label name.
fn check_label_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        Err("\"\" is not a valid label name".into())
    } else {
        Ok(())
    }
}

fn check_count(n: usize) -> Result<(), String> {
    if n > MAX_GROUPS {
        Err(format!("too many entries ({n}, at most {MAX_GROUPS})"))
    } else {
        Ok(())
    }
}

/// Turns parsed groups into target groups with sources `{prefix}:{i}` and `meta_label`
/// (`__meta_filepath`, `__meta_url`) set to `prefix` among the group labels.
pub(crate) fn finish(raw: Vec<RawGroup>, prefix: &str, meta_label: &str) -> Vec<TargetGroup> {
    raw.into_iter()
        .enumerate()
        .map(|(i, g)| {
            let mut labels = g.labels;
            labels.insert(meta_label.to_string(), prefix.to_string());
            TargetGroup::from_addresses(
                format!("{prefix}:{i}"),
                g.targets.iter().map(String::as_str),
                labels,
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_groups_as_prometheus_fixture() {
        // discovery/file/fixtures/valid.json of Prometheus.
        let data = br#"[
            {"targets": ["localhost:9090", "example.org:443"], "labels": {"foo": "bar"}},
            {"targets": ["my.domain"]}
        ]"#;
        let g = parse_json(data).unwrap();
        assert_eq!(g.len(), 2);
        assert_eq!(g[0].targets, ["localhost:9090", "example.org:443"]);
        assert_eq!(g[0].labels["foo"], "bar");
        assert!(g[1].labels.is_empty());
        let t = finish(g, "/x/valid.json", "__meta_filepath");
        assert_eq!(t[1].source, "/x/valid.json:1");
        assert_eq!(t[1].labels["__meta_filepath"], "/x/valid.json");
        assert_eq!(t[1].targets[0]["__address__"], "my.domain");
    }

    #[test]
    fn json_errors() {
        assert_eq!(
            parse_json(br#"[{"targets": [], "label": {}}]"#).unwrap_err(),
            "json: unknown field \"label\""
        );
        assert_eq!(
            parse_json(b"[null]").unwrap_err(),
            "nil target group item found"
        );
        assert!(parse_json(b"[{\"targets\": [1]}]").is_err());
        assert!(parse_json(b"[{\"labels\": {\"a\": 1}}]").is_err());
        assert!(parse_json(b"[{\"labels\": {\"\": \"x\"}}]").is_err());
        assert!(parse_json(b"{\"targets\": []}").is_err());
        assert!(parse_json(b"[{").is_err());
        assert_eq!(parse_json(b"null").unwrap(), Vec::new());
    }

    #[test]
    fn yaml_groups_and_errors() {
        let g = parse_yaml(
            b"- targets: ['localhost:9090', 'example.org:443']\n  labels:\n    foo: bar\n    n: 1\n- targets: ['my.domain']\n",
        )
        .unwrap();
        assert_eq!(g[0].targets, ["localhost:9090", "example.org:443"]);
        assert_eq!(g[0].labels["n"], "1");
        assert_eq!(g[1].targets, ["my.domain"]);
        assert!(parse_yaml(b"- targets: ['a']\n  extra: 1\n")
            .unwrap_err()
            .contains("field extra not found"));
        assert_eq!(
            parse_yaml(b"- null\n").unwrap_err(),
            "nil target group item found"
        );
        assert!(parse_yaml(b"- targets: [a\n").is_err());
        assert_eq!(parse_yaml(b"").unwrap(), Vec::new());
    }
}
