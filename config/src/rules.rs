//! Rule files: groups of recording and alerting rules
//! (`docs/configuration/recording_rules.md`, `alerting_rules.md`), read strictly and
//! validated as `promtool check rules` validates them.
//!
//! Every problem in a file is reported, each with its line and, for rules, the group,
//! the rule's position in the group and its name:
//! `rules.yml:12: group "api", rule 2, "HighLatency": could not parse expression: ...`.
//! Template syntax in labels and annotations is checked where templates are expanded,
//! not here.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::{read_bounded, ConfigError, Problem};
use crate::types::{go_quote, Duration, NameValidation};
use crate::yaml::decode::{error_at, map_pairs, DResult, Decode, MapReader};
use crate::yaml::{self, Kind, Node, Pos};

/// A parsed and validated rule file.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RuleFile {
    pub path: Option<PathBuf>,
    pub groups: Vec<RuleGroup>,
}

/// A group of rules evaluated together at one interval.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RuleGroup {
    pub name: String,
    /// Zero: the global `evaluation_interval`.
    pub interval: Duration,
    /// `None`: the global `rule_query_offset`.
    pub query_offset: Option<Duration>,
    /// Most series (recording) or alerts (alerting) a rule may produce; 0 is no limit.
    pub limit: i64,
    pub rules: Vec<Rule>,
    /// Labels added to every rule's result (rule labels win).
    pub labels: BTreeMap<String, String>,
    /// Line of the group in its file.
    pub line: u32,
}

/// One rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub kind: RuleKind,
    /// The PromQL expression (it parses).
    pub expr: String,
    pub labels: BTreeMap<String, String>,
    /// Line of the rule in its file.
    pub line: u32,
}

/// What a rule produces.
#[derive(Debug, Clone, PartialEq)]
pub enum RuleKind {
    /// `record: <name>`: the expression's result stored as new series.
    Recording { record: String },
    /// `alert: <name>`: an alert per result series.
    Alerting {
        alert: String,
        /// How long the condition must hold before the alert fires.
        for_duration: Duration,
        /// How long the alert keeps firing after the condition stops.
        keep_firing_for: Duration,
        annotations: BTreeMap<String, String>,
    },
}

impl Rule {
    /// The record or alert name.
    pub fn name(&self) -> &str {
        match &self.kind {
            RuleKind::Recording { record } => record,
            RuleKind::Alerting { alert, .. } => alert,
        }
    }
}

/// A rule as written, before validation decides its kind.
struct RawRule {
    record: String,
    record_pos: Option<Pos>,
    alert: String,
    alert_pos: Option<Pos>,
    expr: String,
    expr_pos: Pos,
    for_duration: Duration,
    keep_firing_for: Duration,
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
    pos: Pos,
}

struct RawGroup {
    name: String,
    interval: Duration,
    query_offset: Option<Duration>,
    limit: i64,
    rules: Vec<RawRule>,
    labels: BTreeMap<String, String>,
    pos: Pos,
}

impl RuleFile {
    /// Reads and validates a rule file with UTF-8 name validation (Prometheus 3's
    /// default).
    pub fn load(path: impl AsRef<Path>) -> Result<RuleFile, ConfigError> {
        RuleFile::load_with(path, NameValidation::Utf8)
    }

    /// Reads and validates a rule file, checking names under `scheme`.
    pub fn load_with(
        path: impl AsRef<Path>,
        scheme: NameValidation,
    ) -> Result<RuleFile, ConfigError> {
        let path = path.as_ref();
        let text = read_bounded(path)?;
        RuleFile::parse(&text, Some(path), scheme)
    }

    /// Parses and validates rule-file text; `path` only labels messages.
    pub fn from_str(
        text: &str,
        path: Option<&Path>,
        scheme: NameValidation,
    ) -> Result<RuleFile, ConfigError> {
        RuleFile::parse(text, path, scheme)
    }

    fn parse(
        text: &str,
        file: Option<&Path>,
        scheme: NameValidation,
    ) -> Result<RuleFile, ConfigError> {
        let root = yaml::parse(text).map_err(|e| ConfigError::at(file, e.pos, e.message))?;
        let raw = match &root {
            Some(node) => read_groups(node).map_err(|e| ConfigError::decode(file, e))?,
            None => Vec::new(),
        };
        let mut problems = Vec::new();
        let mut groups = Vec::with_capacity(raw.len());
        let mut names: Vec<String> = Vec::new();
        for g in raw {
            let mut problem = |pos: Pos, message: String| {
                problems.push(Problem {
                    file: file.map(Path::to_path_buf),
                    line: (pos.line > 0).then_some(pos.line),
                    message,
                })
            };
            if g.name.is_empty() {
                problem(g.pos, "Groupname must not be empty".into());
            }
            if names.contains(&g.name) {
                problem(
                    g.pos,
                    format!(
                        "groupname: {} is repeated in the same file",
                        go_quote(&g.name)
                    ),
                );
            }
            names.push(g.name.clone());
            for (k, v) in &g.labels {
                check_label(k, v, scheme, |m| problem(g.pos, m));
            }
            let mut rules = Vec::with_capacity(g.rules.len());
            for (i, r) in g.rules.into_iter().enumerate() {
                let name = if r.alert.is_empty() {
                    &r.record
                } else {
                    &r.alert
                };
                let prefix = format!(
                    "group {}, rule {}, {}",
                    go_quote(&g.name),
                    i + 1,
                    go_quote(name)
                );
                let before = problems_len(&problems);
                let rule = validate_rule(r, scheme, |pos, m| {
                    problems.push(Problem {
                        file: file.map(Path::to_path_buf),
                        line: (pos.line > 0).then_some(pos.line),
                        message: format!("{prefix}: {m}"),
                    })
                });
                if problems_len(&problems) == before {
                    if let Some(rule) = rule {
                        rules.push(rule);
                    }
                }
            }
            groups.push(RuleGroup {
                name: g.name,
                interval: g.interval,
                query_offset: g.query_offset,
                limit: g.limit,
                rules,
                labels: g.labels,
                line: g.pos.line,
            });
        }
        if !problems.is_empty() {
            return Err(ConfigError::from_problems(problems));
        }
        Ok(RuleFile {
            path: file.map(Path::to_path_buf),
            groups,
        })
    }
}

fn problems_len(p: &[Problem]) -> usize {
    p.len()
}

/// Checks a label of a group or rule (`__name__` may not be set).
fn check_label(k: &str, v: &str, scheme: NameValidation, mut report: impl FnMut(String)) {
    if !scheme.is_valid_label_name(k) || k == "__name__" {
        report(format!("invalid label name: {k}"));
    }
    let _ = v; // Label values are any UTF-8, which every Rust string is.
}

fn validate_rule(
    r: RawRule,
    scheme: NameValidation,
    mut report: impl FnMut(Pos, String),
) -> Option<Rule> {
    let name_pos = r.record_pos.or(r.alert_pos).unwrap_or(r.pos);
    if !r.record.is_empty() && !r.alert.is_empty() {
        report(
            name_pos,
            "only one of 'record' and 'alert' must be set".into(),
        );
    }
    if r.record.is_empty() && r.alert.is_empty() {
        report(name_pos, "one of 'record' or 'alert' must be set".into());
    }
    if r.expr.is_empty() {
        report(r.expr_pos, "field 'expr' must be set in rule".into());
    } else if let Err(e) = promql_parser::parser::parse(&r.expr) {
        report(r.expr_pos, format!("could not parse expression: {e}"));
    }
    if !r.record.is_empty() {
        let pos = r.record_pos.unwrap_or(r.pos);
        if !r.annotations.is_empty() {
            report(pos, "invalid field 'annotations' in recording rule".into());
        }
        if !r.for_duration.is_zero() {
            report(pos, "invalid field 'for' in recording rule".into());
        }
        if !r.keep_firing_for.is_zero() {
            report(
                pos,
                "invalid field 'keep_firing_for' in recording rule".into(),
            );
        }
        if !scheme.is_valid_metric_name(&r.record) {
            report(pos, format!("invalid recording rule name: {}", r.record));
        }
        if r.record.contains(['{', '}']) {
            report(
                pos,
                format!(
                    "braces present in the recording rule name; should it be in expr?: {}",
                    r.record
                ),
            );
        }
    }
    for (k, v) in &r.labels {
        check_label(k, v, scheme, |m| report(r.pos, m));
    }
    for k in r.annotations.keys() {
        if !scheme.is_valid_label_name(k) {
            report(r.pos, format!("invalid annotation name: {k}"));
        }
    }
    let kind = if !r.record.is_empty() {
        RuleKind::Recording { record: r.record }
    } else {
        RuleKind::Alerting {
            alert: r.alert,
            for_duration: r.for_duration,
            keep_firing_for: r.keep_firing_for,
            annotations: r.annotations,
        }
    };
    Some(Rule {
        kind,
        expr: r.expr,
        labels: r.labels,
        line: r.pos.line,
    })
}

fn read_groups(node: &Node) -> DResult<Vec<RawGroup>> {
    let mut m = MapReader::new(node, "rulefmt.RuleGroups")?;
    let mut groups = Vec::new();
    if let Some(n) = m.take_node("groups") {
        if !n.is_null() {
            let Kind::Seq(items) = &n.kind else {
                return Err(crate::yaml::decode::type_error(n, "[]rulefmt.RuleGroup"));
            };
            for item in items {
                groups.push(read_group(item)?);
            }
        }
    }
    m.finish()?;
    Ok(groups)
}

fn read_group(node: &Node) -> DResult<RawGroup> {
    let mut m = MapReader::new(node, "rulefmt.RuleGroup")?;
    let mut g = RawGroup {
        name: String::new(),
        interval: Duration::ZERO,
        query_offset: None,
        limit: 0,
        rules: Vec::new(),
        labels: BTreeMap::new(),
        pos: node.pos,
    };
    m.read("name", &mut g.name)?;
    m.read("interval", &mut g.interval)?;
    m.read("query_offset", &mut g.query_offset)?;
    m.read("limit", &mut g.limit)?;
    if let Some(n) = m.take_node("rules") {
        if !n.is_null() {
            let Kind::Seq(items) = &n.kind else {
                return Err(crate::yaml::decode::type_error(n, "[]rulefmt.Rule"));
            };
            for item in items {
                g.rules.push(read_rule(item)?);
            }
        }
    }
    if let Some(n) = m.take_node("labels") {
        g.labels = read_string_map(n)?;
    }
    m.finish()?;
    Ok(g)
}

fn read_string_map(node: &Node) -> DResult<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for (k, key_node, v) in map_pairs(node, "map[string]string")? {
        if out.contains_key(k) {
            return Err(error_at(
                key_node,
                format!("mapping key {} already defined", go_quote(k)),
            ));
        }
        out.insert(k.to_string(), String::decode(v)?);
    }
    Ok(out)
}

fn read_rule(node: &Node) -> DResult<RawRule> {
    let mut m = MapReader::new(node, "rulefmt.Rule")?;
    let mut r = RawRule {
        record: String::new(),
        record_pos: None,
        alert: String::new(),
        alert_pos: None,
        expr: String::new(),
        expr_pos: node.pos,
        for_duration: Duration::ZERO,
        keep_firing_for: Duration::ZERO,
        labels: BTreeMap::new(),
        annotations: BTreeMap::new(),
        pos: node.pos,
    };
    if let Some(n) = m.take_node("record") {
        r.record = String::decode(n)?;
        r.record_pos = Some(n.pos);
    }
    if let Some(n) = m.take_node("alert") {
        r.alert = String::decode(n)?;
        r.alert_pos = Some(n.pos);
    }
    if let Some(n) = m.take_node("expr") {
        r.expr = String::decode(n)?;
        r.expr_pos = n.pos;
    }
    m.read("for", &mut r.for_duration)?;
    m.read("keep_firing_for", &mut r.keep_firing_for)?;
    if let Some(n) = m.take_node("labels") {
        r.labels = read_string_map(n)?;
    }
    if let Some(n) = m.take_node("annotations") {
        r.annotations = read_string_map(n)?;
    }
    m.finish()?;
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<RuleFile, ConfigError> {
        RuleFile::from_str(text, Some(Path::new("rules.yml")), NameValidation::Utf8)
    }

    #[test]
    fn parses_recording_and_alerting_rules() {
        let f = parse(
            "groups:
- name: g
  interval: 30s
  rules:
  - record: job:up:sum
    expr: sum by (job) (up)
  - alert: Down
    expr: up == 0
    for: 5m
    labels: {severity: page}
    annotations:
      summary: '{{ $labels.instance }} down'
",
        )
        .unwrap();
        let g = &f.groups[0];
        assert_eq!(g.interval, Duration::from_secs(30));
        assert_eq!(g.rules.len(), 2);
        assert_eq!(g.rules[0].name(), "job:up:sum");
        assert_eq!(g.rules[1].line, 7);
        match &g.rules[1].kind {
            RuleKind::Alerting {
                for_duration,
                annotations,
                ..
            } => {
                assert_eq!(*for_duration, Duration::from_secs(300));
                assert_eq!(annotations["summary"], "{{ $labels.instance }} down");
            }
            k => panic!("{k:?}"),
        }
    }

    #[test]
    fn reports_every_problem_with_group_rule_and_line() {
        let err = parse(
            "groups:
- name: g
  rules:
  - record: a
    alert: b
    expr: up
  - alert: x
    expr: sum(
- name: g
  rules:
  - record: 'bad{x}'
    expr: up
    for: 1m
",
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("rules.yml:4: group \"g\", rule 1, \"b\": only one of 'record' and 'alert' must be set"),
            "{text}"
        );
        assert!(
            text.contains("rules.yml:8: group \"g\", rule 2, \"x\": could not parse expression"),
            "{text}"
        );
        assert!(
            text.contains("rules.yml:9: groupname: \"g\" is repeated in the same file"),
            "{text}"
        );
        assert!(
            text.contains("invalid field 'for' in recording rule"),
            "{text}"
        );
        assert!(
            text.contains("braces present in the recording rule name"),
            "{text}"
        );
    }

    #[test]
    fn unknown_fields_name_the_line() {
        let err = parse("groups:\n- name: g\n  rules:\n  - record: a\n    exp: up\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "rules.yml:5: field exp not found in type rulefmt.Rule"
        );
    }
}
