//! Every expression of the real users' dashboards and rule files in
//! `../shared/seed-configs/` parses and evaluates, as an instant query and as a range
//! query, over data shaped like what those expressions select (counters for `_total`,
//! classic histogram buckets for `_bucket`, gauges otherwise).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;

use ember_query::{Engine, EngineOpts, QueryOpts, Value};
use ember_storage::head::{Head, HeadOptions};
use ember_storage::Labels;
use promql_parser::label::MatchOp;
use promql_parser::parser::{self, Expr};
use serde::Deserialize;

fn seeds_dir() -> PathBuf {
    std::env::var_os("EMBER_SEEDS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/seed-configs")
        })
}

#[derive(Deserialize)]
struct RuleFile {
    groups: Vec<Group>,
}

#[derive(Deserialize)]
struct Group {
    rules: Vec<Rule>,
}

#[derive(Deserialize)]
struct Rule {
    expr: String,
}

/// The expressions, with where each comes from.
fn expressions() -> Vec<(String, String)> {
    let dir = seeds_dir();
    assert!(
        dir.is_dir(),
        "seed configs not found at {} (set EMBER_SEEDS_DIR)",
        dir.display()
    );
    let mut out = Vec::new();
    let dashboards =
        std::fs::read_to_string(dir.join("dashboard-queries.txt")).expect("dashboard-queries.txt");
    for (i, line) in dashboards.lines().enumerate() {
        if !line.trim().is_empty() {
            out.push((
                format!("dashboard-queries.txt:{}", i + 1),
                line.trim().to_string(),
            ));
        }
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.ends_with("-rules.yml"))
        })
        .collect();
    files.sort();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let rules: RuleFile =
            serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        for (g, group) in rules.groups.iter().enumerate() {
            for (r, rule) in group.rules.iter().enumerate() {
                out.push((
                    format!("{name} group {g} rule {r}"),
                    rule.expr.trim().to_string(),
                ));
            }
        }
    }
    out
}

/// Collects each selector's metric name and the label values that satisfy its matchers
/// (one label set per distinct selector, so `up{job="a"}` and `up{job="b"}` both get data).
type Wanted = BTreeMap<String, BTreeSet<BTreeMap<String, String>>>;

fn selectors(e: &Expr, out: &mut Wanted) {
    match e {
        Expr::VectorSelector(vs) => {
            let mut name = vs.name.clone();
            let mut labels = BTreeMap::new();
            for m in &vs.matchers.matchers {
                let value = match &m.op {
                    MatchOp::Equal => Some(m.value.clone()),
                    MatchOp::Re(_) => satisfying(&m.value),
                    MatchOp::NotEqual | MatchOp::NotRe(_) => None,
                };
                match (m.name.as_str(), value) {
                    ("__name__", Some(v)) => name = Some(v),
                    (n, Some(v)) => {
                        labels.insert(n.to_string(), v);
                    }
                    _ => {}
                }
            }
            if let Some(n) = name {
                out.entry(n).or_default().insert(labels);
            }
        }
        Expr::MatrixSelector(ms) => selectors(&Expr::VectorSelector(ms.vs.clone()), out),
        Expr::Aggregate(a) => {
            selectors(&a.expr, out);
            if let Some(p) = &a.param {
                selectors(p, out);
            }
        }
        Expr::Unary(u) => selectors(&u.expr, out),
        Expr::Binary(b) => {
            selectors(&b.lhs, out);
            selectors(&b.rhs, out);
        }
        Expr::Paren(p) => selectors(&p.expr, out),
        Expr::Subquery(s) => selectors(&s.expr, out),
        Expr::Call(c) => c.args.args.iter().for_each(|a| selectors(a, out)),
        _ => {}
    }
}

/// A value the (anchored) regex accepts, from a few candidates the seeds use.
fn satisfying(re: &str) -> Option<String> {
    let r = regex::Regex::new(&format!("^(?:{re})$")).ok()?;
    [
        "500",
        "503",
        "training",
        "compilation",
        "neural-api",
        "a",
        "GET",
    ]
    .iter()
    .find(|c| r.is_match(c))
    .map(|s| s.to_string())
}

/// One hour of data every 15 s for every selected metric.
fn data(exprs: &[(String, String)]) -> Arc<Head> {
    let mut wanted = Wanted::new();
    for (_, e) in exprs {
        if let Ok(ast) = parser::parse(e) {
            selectors(&ast, &mut wanted);
        }
    }
    let head = Head::in_memory(HeadOptions::default());
    let mut app = head.appender();
    for (name, label_sets) in &wanted {
        let mut sets: Vec<BTreeMap<String, String>> = Vec::new();
        for (labels, instance) in label_sets
            .iter()
            .flat_map(|l| [(l, "host-1:9100"), (l, "host-2:9100")])
        {
            let mut l = labels.clone();
            l.insert("__name__".into(), name.clone());
            l.insert("instance".into(), instance.into());
            l.entry("job".into()).or_insert_with(|| "seed".into());
            sets.push(l);
        }
        if name.ends_with("_bucket") {
            sets = sets
                .into_iter()
                .flat_map(|l| {
                    ["0.1", "0.5", "1", "+Inf"].into_iter().map(move |le| {
                        let mut l = l.clone();
                        l.insert("le".into(), le.into());
                        l
                    })
                })
                .collect();
        }
        for (si, l) in sets.iter().enumerate() {
            let labels = Labels::from_pairs(l.iter());
            let counter = ["_total", "_count", "_sum", "_bucket"]
                .iter()
                .any(|s| name.ends_with(s));
            for k in 0..240i64 {
                let v = if counter {
                    (k * (si as i64 + 1)) as f64
                } else {
                    50.0 + ((k + si as i64) % 10) as f64
                };
                app.append(None, labels.as_ref(), k * 15_000, v).unwrap();
            }
        }
    }
    app.commit().unwrap();
    head
}

#[test]
fn every_seed_expression_parses_and_evaluates() {
    let exprs = expressions();
    assert!(
        exprs.len() >= 80,
        "only {} seed expressions found",
        exprs.len()
    );
    let head = data(&exprs);
    let engine = Engine::new(EngineOpts::default());
    let end = 239 * 15_000;
    let mut failures = Vec::new();
    let mut empty = BTreeSet::new();
    for (origin, e) in &exprs {
        if let Err(err) = parser::parse(e) {
            failures.push(format!("{origin}: parse: {err}: {e}"));
            continue;
        }
        match engine.instant(&head, e, end, &QueryOpts::default()) {
            Ok(r) => {
                if matches!(&r.value, Value::Vector(v) if v.is_empty()) {
                    empty.insert(e.clone());
                }
            }
            Err(err) => failures.push(format!("{origin}: instant: {err}: {e}")),
        }
        if let Err(err) = engine.range(
            &head,
            e,
            end - 3_600_000 + 15_000,
            end,
            60_000,
            &QueryOpts::default(),
        ) {
            failures.push(format!("{origin}: range: {err}: {e}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    eprintln!(
        "{} seed expressions evaluated; {} returned an empty vector over the synthetic data (alert conditions that do not fire)",
        exprs.len(),
        empty.len()
    );
    // Alert thresholds may legitimately not fire; everything else must select data.
    for e in &empty {
        assert!(
            [">", "<", "=="].iter().any(|op| e.contains(op)),
            "expression without a filter returned nothing: {e}"
        );
    }
}
