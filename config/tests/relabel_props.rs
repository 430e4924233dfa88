//! Property tests of relabeling.
//!
//! 1. The engine agrees with a direct transcription of Prometheus's `relabel.Process`
//!    over `labels.Builder` (base labels, an add list and a delete list, as in
//!    `model/labels`), which uses plain `regex` captures and the `regex` crate's own
//!    `$name` expansion (the same rules as Go's `regexp.Expand` for ASCII names) rather
//!    than the engine's matchers, templates and arena.
//! 2. Nothing panics, whatever the rules and labels.

use ember_config::relabel::RelabelRegex;
use ember_config::{Action, RelabelConfig, Relabeler};
use ember_storage::Labels;
use md5::{Digest, Md5};
use proptest::prelude::*;

/// Prometheus's `labels.Builder`.
struct Builder {
    base: Vec<(String, String)>,
    add: Vec<(String, String)>,
    del: Vec<String>,
}

impl Builder {
    fn new(l: &Labels) -> Builder {
        Builder {
            base: l
                .iter()
                .map(|l| (l.name.to_string(), l.value.to_string()))
                .collect(),
            add: Vec::new(),
            del: Vec::new(),
        }
    }

    fn get(&self, n: &str) -> String {
        if let Some(a) = self.add.iter().find(|a| a.0 == n) {
            return a.1.clone();
        }
        if self.del.iter().any(|d| d == n) {
            return String::new();
        }
        self.base
            .iter()
            .find(|b| b.0 == n)
            .map(|b| b.1.clone())
            .unwrap_or_default()
    }

    fn set(&mut self, n: &str, v: &str) {
        if v.is_empty() {
            self.delete(n);
            return;
        }
        if let Some(a) = self.add.iter_mut().find(|a| a.0 == n) {
            a.1 = v.to_string();
            return;
        }
        self.add.push((n.to_string(), v.to_string()));
    }

    fn delete(&mut self, n: &str) {
        self.add.retain(|a| a.0 != n);
        self.del.push(n.to_string());
    }

    fn range(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = self
            .base
            .iter()
            .filter(|b| !self.del.contains(&b.0) && !self.add.iter().any(|a| a.0 == b.0))
            .cloned()
            .collect();
        out.extend(self.add.iter().cloned());
        out
    }

    fn labels(&self) -> Labels {
        Labels::from_pairs(self.range().into_iter().filter(|(n, _)| !n.is_empty()))
    }
}

/// `relabel.relabel` for one rule, transcribed.
fn reference_rule(cfg: &RelabelConfig, lb: &mut Builder) -> bool {
    let re = regex::Regex::new(&format!("^(?s:{})$", cfg.regex.as_str())).unwrap();
    let values: Vec<String> = cfg.source_labels.iter().map(|n| lb.get(n)).collect();
    let val = values.join(&cfg.separator);
    let target = &cfg.target_label;
    match cfg.action.unwrap() {
        Action::Drop => {
            if re.is_match(&val) {
                return false;
            }
        }
        Action::Keep => {
            if !re.is_match(&val) {
                return false;
            }
        }
        Action::DropEqual => {
            if lb.get(target) == val {
                return false;
            }
        }
        Action::KeepEqual => {
            if lb.get(target) != val {
                return false;
            }
        }
        Action::Replace => {
            if let Some(caps) = re.captures(&val) {
                let mut t = String::new();
                caps.expand(target, &mut t);
                if !t.is_empty() {
                    let mut res = String::new();
                    caps.expand(&cfg.replacement, &mut res);
                    if res.is_empty() {
                        lb.delete(&t);
                    } else {
                        lb.set(&t, &res);
                    }
                }
            }
        }
        Action::Lowercase => lb.set(target, &val.to_lowercase()),
        Action::Uppercase => lb.set(target, &val.to_uppercase()),
        Action::HashMod => {
            let h = Md5::digest(val.as_bytes());
            let mut tail = [0u8; 8];
            tail.copy_from_slice(&h[8..]);
            lb.set(
                target,
                &(u64::from_be_bytes(tail) % cfg.modulus).to_string(),
            );
        }
        Action::LabelMap => {
            for (n, v) in lb.range() {
                if let Some(caps) = re.captures(&n) {
                    let mut res = String::new();
                    caps.expand(&cfg.replacement, &mut res);
                    lb.set(&res, &v);
                }
            }
        }
        Action::LabelDrop => {
            for (n, _) in lb.range() {
                if re.is_match(&n) {
                    lb.delete(&n);
                }
            }
        }
        Action::LabelKeep => {
            for (n, _) in lb.range() {
                if !re.is_match(&n) {
                    lb.delete(&n);
                }
            }
        }
    }
    true
}

fn reference(rules: &[RelabelConfig], l: &Labels) -> Option<Labels> {
    let mut lb = Builder::new(l);
    for r in rules {
        if !reference_rule(r, &mut lb) {
            return None;
        }
    }
    Some(lb.labels())
}

const NAMES: &[&str] = &["a", "b", "c", "d", "job", "__x", "__meta_y"];
const REGEXES: &[&str] = &[
    "(.*)",
    "a(.*)",
    "(a|b)c?",
    ".*",
    "",
    "([abc])(?P<n>.)?",
    "b+",
    "x",
    "__(.*)",
    "(.+);(.*)",
    "[ab]",
    "(?i)A.*",
    "a|__x|job",
];
const TARGETS: &[&str] = &["d", "a", "$1", "${1}x", "lbl_$1", "c", "${n}", "__x", "$2"];
const REPLACEMENTS: &[&str] = &["$1", "", "z", "${2}-$1", "$n", "pre_${1}", "$$1", "__x"];

fn labels_strategy() -> impl Strategy<Value = Labels> {
    prop::collection::vec((prop::sample::select(NAMES), "[ab;c\n\\-A]{0,4}"), 0..6)
        .prop_map(Labels::from_pairs)
}

fn rule_strategy() -> impl Strategy<Value = RelabelConfig> {
    (
        0usize..11,
        prop::collection::vec(prop::sample::select(NAMES), 0..3),
        prop::sample::select(&[";", "", "-"][..]),
        prop::sample::select(REGEXES),
        prop::sample::select(TARGETS),
        prop::sample::select(REPLACEMENTS),
        1u64..5,
        prop::sample::select(NAMES),
    )
        .prop_map(|(a, src, sep, re, target, repl, modulus, plain_target)| {
            let mut r = RelabelConfig::default();
            let action = [
                Action::Replace,
                Action::Keep,
                Action::Drop,
                Action::KeepEqual,
                Action::DropEqual,
                Action::HashMod,
                Action::LabelMap,
                Action::LabelDrop,
                Action::LabelKeep,
                Action::Lowercase,
                Action::Uppercase,
            ][a];
            r.action = Some(action);
            let src: Vec<String> = src.into_iter().map(String::from).collect();
            let regex = RelabelRegex::new(re).unwrap();
            // Each action gets only the fields Prometheus allows it.
            match action {
                Action::Replace => {
                    r.source_labels = src;
                    r.separator = sep.into();
                    r.regex = regex;
                    r.target_label = target.into();
                    r.replacement = repl.into();
                }
                Action::Keep | Action::Drop => {
                    r.source_labels = src;
                    r.separator = sep.into();
                    r.regex = regex;
                }
                Action::KeepEqual | Action::DropEqual | Action::Lowercase | Action::Uppercase => {
                    r.source_labels = src;
                    r.target_label = plain_target.into();
                }
                Action::HashMod => {
                    r.source_labels = src;
                    r.separator = sep.into();
                    r.target_label = plain_target.into();
                    r.modulus = modulus;
                }
                Action::LabelMap => {
                    r.regex = regex;
                    r.replacement = repl.into();
                }
                Action::LabelDrop | Action::LabelKeep => r.regex = regex,
            }
            r
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn engine_agrees_with_prometheus_algorithm(
        labels in labels_strategy(),
        rules in prop::collection::vec(rule_strategy(), 1..6),
    ) {
        let Ok(relabeler) = Relabeler::new(&rules) else {
            // Only rules Prometheus would reject fail to compile (e.g. a labelmap
            // replacement that is not a label name is allowed under UTF-8, so this is
            // rare); they are not compared.
            return Ok(());
        };
        let want = reference(&rules, &labels);
        prop_assert_eq!(relabeler.process(&labels), want.clone());
        let mut buf = relabeler.buffer();
        for _ in 0..2 {
            let got = relabeler.process_with(labels.as_ref(), &mut buf).map(|l| l.to_owned());
            prop_assert_eq!(got, want.clone());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn nothing_panics(
        pairs in prop::collection::vec((".{0,6}", ".{0,6}"), 0..8),
        regexes in prop::collection::vec(".{0,8}", 1..4),
        templates in prop::collection::vec("[$a-z{}0-9_.]{0,6}", 2..6),
        actions in prop::collection::vec(0usize..11, 1..4),
        sep in ".{0,2}",
    ) {
        let labels = Labels::from_pairs(pairs);
        let mut rules = Vec::new();
        for (i, a) in actions.iter().enumerate() {
            let Ok(regex) = RelabelRegex::new(&regexes[i % regexes.len()]) else {
                continue;
            };
            let mut r = RelabelConfig::default();
            r.action = Some([
                Action::Replace, Action::Keep, Action::Drop, Action::KeepEqual,
                Action::DropEqual, Action::HashMod, Action::LabelMap, Action::LabelDrop,
                Action::LabelKeep, Action::Lowercase, Action::Uppercase,
            ][*a]);
            r.regex = regex;
            r.source_labels = labels.iter().take(2).map(|l| l.name.to_string()).collect();
            r.separator = sep.clone();
            r.target_label = templates[i % templates.len()].clone();
            r.replacement = templates[(i + 1) % templates.len()].clone();
            r.modulus = 3;
            rules.push(r);
        }
        if let Ok(r) = Relabeler::new(&rules) {
            let _ = r.process(&labels);
        }
    }
}
