//! `/api/v1/parse_query`'s syntax tree, in the JSON shape of Prometheus 3's
//! `web/api/v1/translate_ast.go` (keys in alphabetical order, as Go writes maps).
//!
//! Node types: `aggregation`, `binaryExpr`, `call`, `matrixSelector`, `subquery`,
//! `numberLiteral`, `parenExpr`, `stringLiteral`, `unaryExpr`, `vectorSelector`.
//!
//! Gaps, from what `promql-parser` records: duration expressions (`foo[5m+1m]`,
//! `rangeExpr`, `offsetExpr`, `stepExpr`) are not parsed, so those keys are always
//! `null`; `anchored` and `smoothed` are always `false`.

use std::time::{Duration, SystemTime};

use promql_parser::label::{MatchOp, Matcher};
use promql_parser::parser::ast::{AtModifier, Offset};
use promql_parser::parser::value::ValueType;
use promql_parser::parser::{Expr, LabelModifier, VectorMatchCardinality, VectorSelector};

use super::json::{write_int, write_str};

/// Appends the JSON tree of `expr`.
pub fn write_ast(out: &mut Vec<u8>, expr: &Expr) {
    match expr {
        Expr::Aggregate(a) => {
            let (grouping, without) = match &a.modifier {
                Some(LabelModifier::Include(l)) => (l.labels.as_slice(), false),
                Some(LabelModifier::Exclude(l)) => (l.labels.as_slice(), true),
                None => (&[][..], false),
            };
            out.extend_from_slice(br#"{"expr":"#);
            write_ast(out, &a.expr);
            out.extend_from_slice(br#","grouping":"#);
            write_strings(out, grouping);
            out.extend_from_slice(br#","op":"#);
            write_str(out, &a.op.to_string());
            out.extend_from_slice(br#","param":"#);
            match &a.param {
                Some(p) => write_ast(out, p),
                None => out.extend_from_slice(b"null"),
            }
            out.extend_from_slice(br#","type":"aggregation","without":"#);
            out.extend_from_slice(if without { b"true" } else { b"false" });
            out.push(b'}');
        }
        Expr::Binary(b) => {
            let return_bool = b.modifier.as_ref().is_some_and(|m| m.return_bool);
            out.extend_from_slice(br#"{"bool":"#);
            out.extend_from_slice(if return_bool { b"true" } else { b"false" });
            out.extend_from_slice(br#","lhs":"#);
            write_ast(out, &b.lhs);
            out.extend_from_slice(br#","matching":"#);
            // Prometheus keeps vector matching only between two instant vectors.
            let vectors =
                b.lhs.value_type() == ValueType::Vector && b.rhs.value_type() == ValueType::Vector;
            if vectors {
                let m = b.modifier.clone().unwrap_or_default();
                let card = if b.op.is_set_operator() {
                    "many-to-many"
                } else {
                    match &m.card {
                        VectorMatchCardinality::OneToOne => "one-to-one",
                        VectorMatchCardinality::ManyToOne(_) => "many-to-one",
                        VectorMatchCardinality::OneToMany(_) => "one-to-many",
                        VectorMatchCardinality::ManyToMany => "many-to-many",
                    }
                };
                let include = m.card.labels().map_or(&[][..], |l| l.labels.as_slice());
                let (labels, on) = match &m.matching {
                    Some(LabelModifier::Include(l)) => (l.labels.as_slice(), true),
                    Some(LabelModifier::Exclude(l)) => (l.labels.as_slice(), false),
                    None => (&[][..], false),
                };
                out.extend_from_slice(br#"{"card":"#);
                write_str(out, card);
                out.extend_from_slice(br#","fillValues":{"lhs":"#);
                write_optional_number(out, m.fill_values.lhs);
                out.extend_from_slice(br#","rhs":"#);
                write_optional_number(out, m.fill_values.rhs);
                out.extend_from_slice(br#"},"include":"#);
                write_strings(out, include);
                out.extend_from_slice(br#","labels":"#);
                write_strings(out, labels);
                out.extend_from_slice(br#","on":"#);
                out.extend_from_slice(if on { b"true" } else { b"false" });
                out.push(b'}');
            } else {
                out.extend_from_slice(b"null");
            }
            out.extend_from_slice(br#","op":"#);
            write_str(out, &b.op.to_string());
            out.extend_from_slice(br#","rhs":"#);
            write_ast(out, &b.rhs);
            out.extend_from_slice(br#","type":"binaryExpr"}"#);
        }
        Expr::Call(c) => {
            out.extend_from_slice(br#"{"args":["#);
            for (i, arg) in c.args.args.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_ast(out, arg);
            }
            out.extend_from_slice(br#"],"func":{"argTypes":["#);
            for (i, t) in c.func.arg_types.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_str(out, &t.to_string());
            }
            out.extend_from_slice(br#"],"name":"#);
            write_str(out, c.func.name);
            out.extend_from_slice(br#","returnType":"#);
            write_str(out, &c.func.return_type.to_string());
            out.extend_from_slice(br#","variadic":"#);
            write_int(out, c.func.variadic);
            out.extend_from_slice(br#"},"type":"call"}"#);
        }
        Expr::MatrixSelector(m) => {
            write_selector(out, &m.vs, Some(m.range));
        }
        Expr::VectorSelector(vs) => write_selector(out, vs, None),
        Expr::Subquery(s) => {
            out.extend_from_slice(br#"{"expr":"#);
            write_ast(out, &s.expr);
            out.extend_from_slice(br#","offset":"#);
            write_int(out, offset_millis(s.offset.as_ref()));
            out.extend_from_slice(br#","offsetExpr":null,"range":"#);
            write_int(out, millis(s.range));
            out.extend_from_slice(br#","rangeExpr":null,"startOrEnd":"#);
            write_start_or_end(out, s.at.as_ref());
            out.extend_from_slice(br#","step":"#);
            write_int(out, s.step.map_or(0, millis));
            out.extend_from_slice(br#","stepExpr":null,"timestamp":"#);
            write_timestamp(out, s.at.as_ref());
            out.extend_from_slice(br#","type":"subquery"}"#);
        }
        Expr::NumberLiteral(n) => {
            out.extend_from_slice(br#"{"type":"numberLiteral","val":"#);
            write_str(out, &ember_storage::numfmt::format_f(n.val));
            out.push(b'}');
        }
        Expr::Paren(p) => {
            out.extend_from_slice(br#"{"expr":"#);
            write_ast(out, &p.expr);
            out.extend_from_slice(br#","type":"parenExpr"}"#);
        }
        Expr::StringLiteral(s) => {
            out.extend_from_slice(br#"{"type":"stringLiteral","val":"#);
            write_str(out, &s.val);
            out.push(b'}');
        }
        Expr::Unary(u) => {
            out.extend_from_slice(br#"{"expr":"#);
            write_ast(out, &u.expr);
            out.extend_from_slice(br#","op":"-","type":"unaryExpr"}"#);
        }
        Expr::Extension(_) => out.extend_from_slice(b"null"),
    }
}

/// A vector selector, or a matrix selector when `range` is given.
fn write_selector(out: &mut Vec<u8>, vs: &VectorSelector, range: Option<Duration>) {
    out.extend_from_slice(br#"{"anchored":false,"matchers":["#);
    let name_matcher = vs
        .name
        .as_ref()
        .map(|n| Matcher::new(MatchOp::Equal, "__name__", n));
    for (i, m) in vs
        .matchers
        .matchers
        .iter()
        .chain(name_matcher.as_ref())
        .enumerate()
    {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(br#"{"name":"#);
        write_str(out, &m.name);
        out.extend_from_slice(br#","type":"#);
        write_str(out, &m.op.to_string());
        out.extend_from_slice(br#","value":"#);
        write_str(out, &m.value);
        out.push(b'}');
    }
    out.extend_from_slice(br#"],"name":"#);
    write_str(out, vs.name.as_deref().unwrap_or(""));
    out.extend_from_slice(br#","offset":"#);
    write_int(out, offset_millis(vs.offset.as_ref()));
    out.extend_from_slice(br#","offsetExpr":null"#);
    if let Some(range) = range {
        out.extend_from_slice(br#","range":"#);
        write_int(out, millis(range));
        out.extend_from_slice(br#","rangeExpr":null"#);
    }
    out.extend_from_slice(br#","smoothed":false,"startOrEnd":"#);
    write_start_or_end(out, vs.at.as_ref());
    out.extend_from_slice(br#","timestamp":"#);
    write_timestamp(out, vs.at.as_ref());
    out.extend_from_slice(if range.is_some() {
        br#","type":"matrixSelector"}"#
    } else {
        br#","type":"vectorSelector"}"#
    });
}

fn write_strings(out: &mut Vec<u8>, items: &[String]) {
    super::json::write_str_array(out, items.iter().map(String::as_str));
}

fn write_optional_number(out: &mut Vec<u8>, v: Option<f64>) {
    match v {
        Some(v) => super::json::write_number(out, v),
        None => out.extend_from_slice(b"null"),
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn offset_millis(o: Option<&Offset>) -> i64 {
    match o {
        Some(Offset::Pos(d)) => millis(*d),
        Some(Offset::Neg(d)) => -millis(*d),
        None => 0,
    }
}

fn write_start_or_end(out: &mut Vec<u8>, at: Option<&AtModifier>) {
    match at {
        Some(AtModifier::Start) => out.extend_from_slice(br#""start""#),
        Some(AtModifier::End) => out.extend_from_slice(br#""end""#),
        _ => out.extend_from_slice(b"null"),
    }
}

/// The `@` time in milliseconds, or `null`.
fn write_timestamp(out: &mut Vec<u8>, at: Option<&AtModifier>) {
    match at {
        Some(AtModifier::At(t)) => {
            let ms = match t.duration_since(SystemTime::UNIX_EPOCH) {
                Ok(d) => millis(d),
                Err(e) => -millis(e.duration()),
            };
            write_int(out, ms);
        }
        _ => out.extend_from_slice(b"null"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn ast(q: &str) -> Value {
        let expr = super::super::params::parse_query(q).unwrap();
        let mut out = Vec::new();
        write_ast(&mut out, &expr);
        serde_json::from_slice(&out).unwrap()
    }

    /// The example in Prometheus's API documentation (`foo/bar`), with the keys Prometheus
    /// 3 adds to vector selectors and vector matching since that example was written.
    #[test]
    fn documented_example() {
        let selector = |name: &str| {
            json!({
                "anchored": false,
                "matchers": [{"name": "__name__", "type": "=", "value": name}],
                "name": name,
                "offset": 0,
                "offsetExpr": null,
                "smoothed": false,
                "startOrEnd": null,
                "timestamp": null,
                "type": "vectorSelector"
            })
        };
        assert_eq!(
            ast("foo/bar"),
            json!({
                "bool": false,
                "lhs": selector("foo"),
                "matching": {
                    "card": "one-to-one",
                    "fillValues": {"lhs": null, "rhs": null},
                    "include": [],
                    "labels": [],
                    "on": false
                },
                "op": "/",
                "rhs": selector("bar"),
                "type": "binaryExpr"
            })
        );
    }

    /// Field values from Prometheus's `translate_ast_test.go`.
    #[test]
    fn selectors_and_subqueries() {
        let m = ast("foo[5m] offset 1m");
        assert_eq!(m["type"], "matrixSelector");
        assert_eq!(m["range"], 300_000);
        assert_eq!(m["offset"], 60_000);
        assert_eq!(m["rangeExpr"], Value::Null);
        let s = ast("foo[5m:1m]");
        assert_eq!(s["type"], "subquery");
        assert_eq!(
            (s["range"].clone(), s["step"].clone()),
            (json!(300_000), json!(60_000))
        );
        assert_eq!(ast("foo offset 5m")["offset"], 300_000);
        let at = ast(r#"foo{a="b"} @ 10"#);
        assert_eq!(at["timestamp"], 10_000);
        assert_eq!(
            at["matchers"],
            json!([
                {"name": "a", "type": "=", "value": "b"},
                {"name": "__name__", "type": "=", "value": "foo"}
            ])
        );
        assert_eq!(ast("foo @ end()")["startOrEnd"], "end");
    }

    #[test]
    fn other_nodes() {
        let a = ast("sum without (job) (rate(x[5m]))");
        assert_eq!(a["type"], "aggregation");
        assert_eq!(a["op"], "sum");
        assert_eq!(a["without"], true);
        assert_eq!(a["grouping"], json!(["job"]));
        let call = &a["expr"];
        assert_eq!(call["type"], "call");
        assert_eq!(
            call["func"],
            json!({"argTypes": ["matrix"], "name": "rate", "returnType": "vector", "variadic": 0})
        );
        assert_eq!(ast("1 + 2")["matching"], Value::Null);
        assert_eq!(
            ast("1e21"),
            json!({"type": "numberLiteral", "val": "1000000000000000000000"})
        );
        assert_eq!(ast(r#""a""#), json!({"type": "stringLiteral", "val": "a"}));
        assert_eq!(ast("-(1)")["type"], "unaryExpr");
        assert_eq!(ast("-(1)")["expr"]["type"], "parenExpr");
        let set = ast("a and on (x) b");
        assert_eq!(set["matching"]["card"], "many-to-many");
        assert_eq!(set["matching"]["on"], true);
        assert_eq!(set["matching"]["labels"], json!(["x"]));
        let g = ast("a * on (x) group_left (y) b");
        assert_eq!(g["matching"]["card"], "many-to-one");
        assert_eq!(g["matching"]["include"], json!(["y"]));
        assert_eq!(ast("a > bool b")["bool"], true);
    }
}
