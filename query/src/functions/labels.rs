//! Functions of the label sets: `label_replace`, `label_join`, and `absent` (whose result
//! is labelled from its argument's selector).
//!
//! `label_replace` and `label_join` only rewrite each series' labels; series that end up
//! with the same labels are merged (or rejected when they collide at a step) by the
//! evaluator, as Prometheus merges them after these functions. Writing `__name__` keeps
//! the name even where an earlier function marked it for removal.

use std::collections::HashSet;

use ember_storage::labels::METRIC_NAME;
use ember_storage::{Labels, LabelsBuilder};
use promql_parser::label::MatchOp;
use promql_parser::parser::Expr;
use regex::{Captures, Regex};

use crate::error::QueryError;
use crate::value::{FPoint, Series};

use super::FnCtx;

/// Prometheus 3 accepts any non-empty UTF-8 string as a label name.
fn is_valid_label_name(name: &str) -> bool {
    !name.is_empty()
}

/// `label_replace(v, dst, replacement, src, regex)`: where the whole value of `src`
/// matches `regex`, sets `dst` to `replacement` with `$1`, `${name}` expanded (an empty
/// result removes `dst`). Series whose `src` does not match are unchanged.
pub(super) fn label_replace(
    mut input: Vec<Series>,
    dst: &str,
    replacement: &str,
    src: &str,
    regex: &str,
) -> Result<Vec<Series>, QueryError> {
    let re =
        ember_storage::matcher::compile_go_regex(&format!("^(?s:{regex})$")).map_err(|_| {
            QueryError::exec(format!(
                "invalid regular expression in label_replace(): {regex}"
            ))
        })?;
    if !is_valid_label_name(dst) {
        return Err(QueryError::exec(format!(
            "invalid destination label name in label_replace(): {dst}"
        )));
    }
    let mut value = String::new();
    for s in &mut input {
        let Some(caps) = re.captures(s.metric.get(src).unwrap_or("")) else {
            continue;
        };
        value.clear();
        expand_go_template(replacement, &re, &caps, &mut value);
        s.metric = with_label(&s.metric, dst, &value);
        if dst == METRIC_NAME {
            s.drop_name = false;
        }
    }
    Ok(input)
}

/// `label_join(v, dst, separator, src...)`: sets `dst` to the values of the `src` labels
/// (empty for missing ones) joined by `separator`; an empty result removes `dst`.
pub(super) fn label_join(
    mut input: Vec<Series>,
    dst: &str,
    separator: &str,
    srcs: &[String],
) -> Result<Vec<Series>, QueryError> {
    if let Some(bad) = srcs.iter().find(|s| !is_valid_label_name(s)) {
        return Err(QueryError::exec(format!(
            "invalid source label name in label_join(): {bad}"
        )));
    }
    if !is_valid_label_name(dst) {
        return Err(QueryError::exec(format!(
            "invalid destination label name in label_join(): {dst}"
        )));
    }
    let mut value = String::new();
    for s in &mut input {
        value.clear();
        for (i, src) in srcs.iter().enumerate() {
            if i > 0 {
                value.push_str(separator);
            }
            value.push_str(s.metric.get(src).unwrap_or(""));
        }
        s.metric = with_label(&s.metric, dst, &value);
        if dst == METRIC_NAME {
            s.drop_name = false;
        }
    }
    Ok(input)
}

/// `metric` with `name` set to `value` (removed when `value` is empty).
fn with_label(metric: &Labels, name: &str, value: &str) -> Labels {
    let mut b = metric.builder();
    b.set(name, value);
    b.labels()
}

/// Go's `Regexp.ExpandString`: `$name` / `${name}` (letters, digits, `_`; all digits is a
/// group number, without leading zeros) is replaced by that group's match (empty when the
/// group does not exist or did not participate), `$$` is a `$`, and a `$` not followed by
/// a valid reference is kept as is.
fn expand_go_template(template: &str, re: &Regex, caps: &Captures<'_>, out: &mut String) {
    let mut rest = template;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        rest = &rest[i + 1..];
        if let Some(r) = rest.strip_prefix('$') {
            out.push('$');
            rest = r;
            continue;
        }
        let Some((name, after)) = template_reference(rest) else {
            out.push('$');
            continue;
        };
        rest = after;
        let number = (name.len() == 1 || !name.starts_with('0'))
            .then(|| name.parse::<usize>().ok().filter(|&n| n < 100_000_000))
            .flatten();
        let group = match number {
            Some(n) => caps.get(n),
            None => re
                .capture_names()
                .enumerate()
                .filter(|(_, n)| *n == Some(name))
                .find_map(|(i, _)| caps.get(i)),
        };
        if let Some(m) = group {
            out.push_str(m.as_str());
        }
    }
    out.push_str(rest);
}

/// The reference after a `$`: `name` or `{name}`, and the text after it.
fn template_reference(s: &str) -> Option<(&str, &str)> {
    let (braced, body) = match s.strip_prefix('{') {
        Some(b) => (true, b),
        None => (false, s),
    };
    let end = body
        .char_indices()
        .find(|&(_, c)| !(c.is_alphabetic() || c.is_numeric() || c == '_'))
        .map_or(body.len(), |(i, _)| i);
    if end == 0 {
        return None;
    }
    let name = &body[..end];
    if braced {
        let after = body[end..].strip_prefix('}')?;
        Some((name, after))
    } else {
        Some((name, &body[end..]))
    }
}

/// The labels `absent` and `absent_over_time` give their result: the label pairs of the
/// selector's equality matchers (not `__name__`). A label constrained more than once, or
/// by any other matcher, is left out (Prometheus's historic behaviour). Anything but a
/// selector gives no labels.
pub(super) fn labels_from_selector(expr: &Expr) -> Labels {
    let matchers = match expr {
        Expr::VectorSelector(vs) => &vs.matchers.matchers,
        Expr::MatrixSelector(ms) => &ms.vs.matchers.matchers,
        _ => return Labels::empty(),
    };
    let mut b = LabelsBuilder::new();
    let mut has: HashSet<&str> = HashSet::new();
    for m in matchers {
        if m.name == METRIC_NAME {
            continue;
        }
        if matches!(m.op, MatchOp::Equal) && !has.contains(m.name.as_str()) {
            b.set(&m.name, &m.value);
            has.insert(&m.name);
        } else {
            b.del(&m.name);
        }
    }
    b.labels()
}

/// `absent(v)`: 1 at every step where `v` has no sample, labelled from `v`'s selector.
pub(super) fn absent(input: &[Series], ctx: &FnCtx<'_>) -> Vec<Series> {
    let steps = ctx.steps;
    let mut present = vec![false; steps.len()];
    for s in input {
        for p in &s.floats {
            if let Some(i) = steps.index(p.t) {
                present[i] = true;
            }
        }
    }
    let floats: Vec<FPoint> = (0..steps.len())
        .filter(|&i| !present[i])
        .map(|i| FPoint {
            t: steps.ts(i),
            f: 1.0,
        })
        .collect();
    if floats.is_empty() {
        return Vec::new();
    }
    let metric = ctx
        .arg_expr(0)
        .map(labels_from_selector)
        .unwrap_or_default();
    vec![Series::new(metric, floats)]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand(template: &str, re: &str, text: &str) -> String {
        let re = ember_storage::matcher::compile_go_regex(&format!("^(?s:{re})$")).unwrap();
        let caps = re.captures(text).unwrap();
        let mut out = String::new();
        expand_go_template(template, &re, &caps, &mut out);
        out
    }

    #[test]
    fn go_template_expansion() {
        assert_eq!(
            expand(
                "destination-value-$1",
                "source-value-(.*)",
                "source-value-10"
            ),
            "destination-value-10"
        );
        assert_eq!(
            expand("$1-value-$2", "(.*)-value-(.*)", "source-value-10"),
            "source-value-10"
        );
        // `$1x` names the group "1x" (absent: empty); `${1}x` is group 1 then "x".
        assert_eq!(expand("$1x|${1}x", "(a)", "a"), "|ax");
        // `$$` is a dollar; a dangling `$` or `${` stays literal.
        assert_eq!(expand("$$1 $ ${ $-", "(a)", "a"), "$1 $ ${ $-");
        // Named groups; unknown names and groups out of range expand to nothing.
        assert_eq!(expand("${x}.$x.$y.$9", "(?P<x>a)", "a"), "a.a..");
        // Leading zeros make a name, not a number.
        assert_eq!(expand("$01|$0", "(a)", "a"), "|a");
        // A group that did not participate is empty.
        assert_eq!(expand("[$1][$2]", "(a)|(b)", "b"), "[][b]");
    }

    #[test]
    fn replace_requires_a_whole_match() {
        let s = Series::new(Labels::from_pairs([("src", "source-value-10")]), vec![]);
        let out = label_replace(vec![s.clone()], "dst", "x-$1", "src", "value-(.*)").unwrap();
        assert_eq!(out[0].metric, s.metric);
        let out = label_replace(vec![s], "dst", "x-$1", "src", "source-value-(.*)").unwrap();
        assert_eq!(out[0].metric.get("dst"), Some("x-10"));
    }

    #[test]
    fn replace_errors_as_prometheus() {
        let err = label_replace(vec![], "dst", "", "src", "(.*").unwrap_err();
        assert_eq!(
            err,
            QueryError::exec("invalid regular expression in label_replace(): (.*")
        );
        let err = label_replace(vec![], "", "", "src", "(.*)").unwrap_err();
        assert_eq!(
            err,
            QueryError::exec("invalid destination label name in label_replace(): ")
        );
        let err = label_join(vec![], "dst", "-", &["a".into(), "".into()]).unwrap_err();
        assert_eq!(
            err,
            QueryError::exec("invalid source label name in label_join(): ")
        );
    }
}
