//! Relabeling against the cases of Prometheus's `model/relabel/relabel_test.go`: the same
//! inputs, rules and expected outputs (facts), written as YAML rules so that reading,
//! defaulting and validation are exercised too.

use ember_storage::Labels;

use super::*;
use crate::yaml::decode::Decode;

fn rules(yaml: &str) -> Vec<RelabelConfig> {
    let node = crate::yaml::parse(yaml).unwrap().unwrap();
    Vec::<RelabelConfig>::decode(&node).unwrap()
}

fn labels(pairs: &[(&str, &str)]) -> Labels {
    Labels::from_pairs(pairs.iter().copied())
}

/// Applies `rule_yaml` to `input` and checks the result (`None`: dropped).
fn check(input: &[(&str, &str)], rule_yaml: &str, want: Option<&[(&str, &str)]>) {
    let r = Relabeler::new(&rules(rule_yaml)).unwrap_or_else(|e| panic!("{e}: {rule_yaml}"));
    let got = r.process(&labels(input));
    let want = want.map(labels);
    assert_eq!(got, want, "rules:\n{rule_yaml}");
    // The buffer-based path gives the same answer, also on a reused buffer.
    let mut buf = r.buffer();
    for _ in 0..2 {
        let got = r
            .process_with(labels(input).as_ref(), &mut buf)
            .map(|l| l.to_owned());
        assert_eq!(got, want.clone(), "rules:\n{rule_yaml}");
    }
}

const ABC: &[(&str, &str)] = &[("a", "foo"), ("b", "bar"), ("c", "baz")];

#[test]
fn replace_with_groups() {
    check(
        ABC,
        "- {source_labels: [a], regex: 'f(.*)', target_label: d, separator: ';', replacement: 'ch${1}-ch${1}'}",
        Some(&[("a", "foo"), ("b", "bar"), ("c", "baz"), ("d", "choo-choo")]),
    );
    check(
        ABC,
        "
- {source_labels: [a, b], regex: 'f(.*);(.*)r', target_label: a, separator: ';', replacement: 'b${1}${2}m'}
- {source_labels: [c, a], regex: '(b).*b(.*)ba(.*)', target_label: d, separator: ';', replacement: '$1$2$2$3'}
",
        Some(&[("a", "boobam"), ("b", "bar"), ("c", "baz"), ("d", "boooom")]),
    );
    check(
        &[("a", "abc")],
        "- {source_labels: [a], regex: '.*(b).*', target_label: d, replacement: '$1'}",
        Some(&[("a", "abc"), ("d", "b")]),
    );
}

#[test]
fn drop_and_keep() {
    let drop_then_replace = "
- {source_labels: [a], regex: '.*o.*', action: drop}
- {source_labels: [a], regex: 'f(.*)', target_label: d, replacement: 'ch$1-ch$1'}
";
    check(&[("a", "foo")], drop_then_replace, None);
    check(
        &[("a", "foo"), ("b", "bar")],
        "- {source_labels: [a], regex: '.*o.*', action: drop}",
        None,
    );
    check(
        &[("a", "foo")],
        "- {source_labels: [a], regex: no-match, action: drop}",
        Some(&[("a", "foo")]),
    );
    // Anchored: `f|o` matches neither all of "foo" nor drops it.
    check(
        &[("a", "foo")],
        "- {source_labels: [a], regex: 'f|o', action: drop}",
        Some(&[("a", "foo")]),
    );
    check(
        &[("a", "foo")],
        "- {source_labels: [a], regex: no-match, action: keep}",
        None,
    );
    check(
        &[("a", "foo")],
        "- {source_labels: [a], regex: 'f.*', action: keep}",
        Some(&[("a", "foo")]),
    );
}

#[test]
fn replace_without_match_and_blank_replacement() {
    check(
        &[("a", "boo")],
        "- {source_labels: [a], regex: f, target_label: b, replacement: bar}",
        Some(&[("a", "boo")]),
    );
    // The replacement expands to nothing: the target label `f` is removed.
    check(
        &[("a", "foo"), ("f", "baz")],
        "- {source_labels: [a], regex: '(f).*', target_label: '$1', replacement: '$2'}",
        Some(&[("a", "foo")]),
    );
}

#[test]
fn hashmod_is_md5_of_the_joined_value() {
    check(
        ABC,
        "- {source_labels: [c], target_label: d, separator: ';', action: hashmod, modulus: 1000}",
        Some(&[("a", "foo"), ("b", "bar"), ("c", "baz"), ("d", "976")]),
    );
    check(
        &[("a", "foo\nbar")],
        "- {source_labels: [a], target_label: b, separator: ';', action: hashmod, modulus: 1000}",
        Some(&[("a", "foo\nbar"), ("b", "734")]),
    );
}

#[test]
fn labelmap() {
    check(
        &[("a", "foo"), ("b1", "bar"), ("b2", "baz")],
        "- {regex: '(b.*)', replacement: 'bar_${1}', action: labelmap}",
        Some(&[
            ("a", "foo"),
            ("b1", "bar"),
            ("b2", "baz"),
            ("bar_b1", "bar"),
            ("bar_b2", "baz"),
        ]),
    );
    check(
        &[
            ("a", "foo"),
            ("__meta_my_bar", "aaa"),
            ("__meta_my_baz", "bbb"),
            ("__meta_other", "ccc"),
        ],
        "- {regex: '__meta_(my.*)', replacement: '${1}', action: labelmap}",
        Some(&[
            ("a", "foo"),
            ("__meta_my_bar", "aaa"),
            ("__meta_my_baz", "bbb"),
            ("__meta_other", "ccc"),
            ("my_bar", "aaa"),
            ("my_baz", "bbb"),
        ]),
    );
}

#[test]
fn target_label_from_groups() {
    let rule = |repl: &str, target: &str| {
        format!(
            "- {{source_labels: [a], regex: 'some-([^-]+)-([^,]+)', action: replace, replacement: '{repl}', target_label: '{target}'}}"
        )
    };
    check(
        &[("a", "some-name-value")],
        &rule("${2}", "${1}"),
        Some(&[("a", "some-name-value"), ("name", "value")]),
    );
    // An empty replacement removes the (absent) target.
    check(
        &[("a", "some-name-value")],
        &rule("${3}", "${1}"),
        Some(&[("a", "some-name-value")]),
    );
    // A target that expands to an empty (invalid) name changes nothing.
    let three = format!(
        "{}\n{}\n- {{source_labels: [a], regex: 'some-([^-]+)(-[^,]+)', action: replace, replacement: '${{1}}', target_label: '${{3}}'}}",
        rule("${1}", "${3}"),
        rule("${1}", "${3}")
    );
    check(
        &[("a", "some-name-0")],
        &three,
        Some(&[("a", "some-name-0")]),
    );
}

#[test]
fn real_life_tags() {
    check(
        &[("__meta_sd_tags", "path:/secret,job:some-job,label:foo=bar")],
        "
- {source_labels: [__meta_sd_tags], regex: '(?:.+,|^)path:(/[^,]+).*', action: replace, replacement: '${1}', target_label: __metrics_path__}
- {source_labels: [__meta_sd_tags], regex: '(?:.+,|^)job:([^,]+).*', action: replace, replacement: '${1}', target_label: job}
- {source_labels: [__meta_sd_tags], regex: '(?:.+,|^)label:([^=]+)=([^,]+).*', action: replace, replacement: '${2}', target_label: '${1}'}
",
        Some(&[
            ("__meta_sd_tags", "path:/secret,job:some-job,label:foo=bar"),
            ("__metrics_path__", "/secret"),
            ("job", "some-job"),
            ("foo", "bar"),
        ]),
    );
    // prometheus/prometheus#12283: a label dropped, then set again, then kept.
    check(
        &[
            ("__meta_kubernetes_pod_container_port_name", "foo"),
            ("__meta_kubernetes_pod_annotation_XXX_metrics_port", "9091"),
        ],
        "
- {regex: '^__meta_kubernetes_pod_container_port_name$', action: labeldrop}
- {source_labels: [__meta_kubernetes_pod_annotation_XXX_metrics_port], regex: '(.+)', action: replace, replacement: metrics, target_label: __meta_kubernetes_pod_container_port_name}
- {source_labels: [__meta_kubernetes_pod_container_port_name], regex: '^metrics$', action: keep}
",
        Some(&[
            ("__meta_kubernetes_pod_annotation_XXX_metrics_port", "9091"),
            ("__meta_kubernetes_pod_container_port_name", "metrics"),
        ]),
    );
}

#[test]
fn labelkeep_and_labeldrop() {
    let input = &[("a", "foo"), ("b1", "bar"), ("b2", "baz")];
    check(
        input,
        "- {regex: '(b.*)', action: labelkeep}",
        Some(&[("b1", "bar"), ("b2", "baz")]),
    );
    check(
        input,
        "- {regex: '(b.*)', action: labeldrop}",
        Some(&[("a", "foo")]),
    );
}

#[test]
fn case_actions() {
    check(
        &[("foo", "bAr123Foo")],
        "
- {source_labels: [foo], action: uppercase, target_label: foo_uppercase}
- {source_labels: [foo], action: lowercase, target_label: foo_lowercase}
",
        Some(&[
            ("foo", "bAr123Foo"),
            ("foo_lowercase", "bar123foo"),
            ("foo_uppercase", "BAR123FOO"),
        ]),
    );
}

#[test]
fn keepequal_and_dropequal() {
    let input: &[(&str, &str)] = &[
        ("__tmp_port", "1234"),
        ("__port1", "1234"),
        ("__port2", "5678"),
    ];
    let rule = |action: &str, target: &str| {
        format!("- {{source_labels: [__tmp_port], action: {action}, target_label: {target}}}")
    };
    check(input, &rule("keepequal", "__port1"), Some(input));
    check(input, &rule("dropequal", "__port1"), None);
    check(input, &rule("dropequal", "__port2"), Some(input));
    check(input, &rule("keepequal", "__port2"), None);
}

#[test]
fn dot_matches_newline_and_utf8_names() {
    let input: &[(&str, &str)] = &[("a", "line1\nline2"), ("b", "bar"), ("c", "baz")];
    check(
        input,
        "- {source_labels: [a], regex: 'line1.*line2', target_label: d, separator: ';', replacement: 'match${1}'}",
        Some(&[("a", "line1\nline2"), ("b", "bar"), ("c", "baz"), ("d", "match")]),
    );
    check(
        &[("utf-8.label", "line1\nline2"), ("b", "bar"), ("c", "baz")],
        "- {source_labels: [utf-8.label], regex: 'line1.*line2', target_label: d, replacement: 'match${1}'}",
        Some(&[("utf-8.label", "line1\nline2"), ("b", "bar"), ("c", "baz"), ("d", "match")]),
    );
    check(
        input,
        "- {source_labels: [a], regex: 'line1.*line2', target_label: utf-8.label, replacement: 'match${1}'}",
        Some(&[("a", "line1\nline2"), ("b", "bar"), ("c", "baz"), ("utf-8.label", "match")]),
    );
    check(
        input,
        "- {source_labels: [a], regex: 'line1.*line2', target_label: 'utf-8.label${1}', replacement: 'match${1}'}",
        Some(&[("a", "line1\nline2"), ("b", "bar"), ("c", "baz"), ("utf-8.label", "match")]),
    );
    check(
        input,
        "
- {source_labels: [a], regex: '(line1).*(?<second>line2)', target_label: 'label1_${1}', replacement: 'val_${second}'}
- {source_labels: [a], regex: '(line1).*(?<second>line2)', target_label: 'label2_$1', replacement: 'val_$second'}
",
        Some(&[
            ("a", "line1\nline2"),
            ("b", "bar"),
            ("c", "baz"),
            ("label1_line1", "val_line2"),
            ("label2_line1", "val_line2"),
        ]),
    );
}

#[test]
fn type_and_unit_labels() {
    check(
        &[("__name__", "http_requests_total")],
        "- {source_labels: [__name__], regex: '.*_total$', target_label: __type__, replacement: counter}",
        Some(&[("__name__", "http_requests_total"), ("__type__", "counter")]),
    );
    check(
        &[("__name__", "disk_usage_bytes")],
        "- {source_labels: [__name__], regex: '.*_bytes$', target_label: __unit__, replacement: bytes}",
        Some(&[("__name__", "disk_usage_bytes"), ("__unit__", "bytes")]),
    );
}

#[test]
fn labelmap_collisions_follow_builder_order() {
    // Both labels map to `x`; Prometheus's builder visits input labels in name order,
    // so the last one (b) wins.
    check(
        &[("a", "1"), ("b", "2")],
        "- {regex: '.*', replacement: x, action: labelmap}",
        Some(&[("a", "1"), ("b", "2"), ("x", "2")]),
    );
    // A label set by an earlier rule is visited after the input labels.
    check(
        &[("b", "2"), ("c", "3")],
        "
- {target_label: a, replacement: '1'}
- {regex: '[ab]', replacement: x, action: labelmap}
",
        Some(&[("a", "1"), ("b", "2"), ("c", "3"), ("x", "1")]),
    );
}

#[test]
fn null_regex_is_the_empty_regex() {
    // `regex:` with no value: matches only the empty string, as in Prometheus.
    check(
        &[("a", "x")],
        "- {source_labels: [a], regex: , target_label: b, replacement: set}",
        Some(&[("a", "x")]),
    );
    check(
        &[("a", "x")],
        "- {source_labels: [missing], regex: , target_label: b, replacement: set}",
        Some(&[("a", "x"), ("b", "set")]),
    );
}

fn validate(yaml: &str, scheme: NameValidation) -> Result<(), String> {
    let mut r = rules(yaml).remove(0);
    r.validate(scheme)
}

#[test]
fn validation_matches_prometheus() {
    use NameValidation::*;
    let cases: &[(&str, NameValidation, &str)] = &[
        ("- {action: ~}", Utf8, "relabel action cannot be empty"),
        ("- {action: replace}", Utf8, "requires 'target_label' value"),
        ("- {action: lowercase}", Utf8, "requires 'target_label' value"),
        ("- {action: lowercase, target_label: '${3}'}", Utf8, ""),
        (
            "- {action: lowercase, target_label: '${3}'}",
            Legacy,
            "\"${3}\" is invalid 'target_label' for lowercase action",
        ),
        (
            "- {source_labels: [a], regex: 'some-([^-]+)-([^,]+)', replacement: '${1}', target_label: '${3}'}",
            Utf8,
            "",
        ),
        (
            "- {source_labels: [a], regex: 'some-([^-]+)-([^,]+)', replacement: '${1}', target_label: '0${3}'}",
            Utf8,
            "",
        ),
        (
            "- {source_labels: [a], regex: 'some-([^-]+)-([^,]+)', replacement: '${1}', target_label: '-${3}'}",
            Utf8,
            "",
        ),
        (
            "- {regex: '__meta_kubernetes_pod_label_(strimzi_io_.+)', action: labelmap, replacement: '$1'}",
            Legacy,
            "",
        ),
        ("- {regex: '__meta_(.+)', action: labelmap, replacement: '${1}'}", Legacy, ""),
        ("- {action: hashmod, target_label: x}", Utf8, "relabel configuration for hashmod requires non-zero modulus"),
        ("- {action: hashmod, modulus: 2}", Utf8, "relabel configuration for hashmod action requires 'target_label' value"),
        ("- {action: labeldrop, regex: a, target_label: x}", Utf8, "labeldrop action requires only 'regex', and no other fields"),
        ("- {action: labelkeep, regex: a, separator: ','}", Utf8, "labelkeep action requires only 'regex', and no other fields"),
        ("- {action: labelkeep, source_labels: [a]}", Utf8, "labelkeep action requires only 'regex', and no other fields"),
        ("- {action: keepequal, target_label: x, regex: '(.*)'}", Utf8, "keepequal action requires only 'source_labels' and `target_label`, and no other fields"),
        ("- {action: dropequal}", Utf8, "relabel configuration for dropequal action requires 'target_label' value"),
        ("- {action: uppercase, target_label: x, replacement: y}", Utf8, "'replacement' can not be set for uppercase action"),
        ("- {action: replace, target_label: 'a.b'}", Legacy, "\"a.b\" is invalid 'target_label' for replace action"),
        ("- {action: labelmap, replacement: 'a.$1'}", Legacy, "\"a.$1\" is invalid 'replacement' for labelmap action"),
    ];
    for (yaml, scheme, want) in cases {
        let got = validate(yaml, *scheme);
        if want.is_empty() {
            assert_eq!(got, Ok(()), "{yaml}");
        } else {
            let err = got.expect_err(yaml);
            assert!(err.contains(want), "{yaml}: {err}");
        }
    }
}

#[test]
fn legacy_target_labels_may_hold_variables() {
    let cases = [
        ("-label", false),
        ("label", true),
        ("label${1}", true),
        ("${1}label", true),
        ("${1}", true),
        ("${", false),
        ("$", false),
        ("${}", false),
        ("foo${", false),
        ("$1", true),
        ("asd$2asd", true),
        ("-foo${1}bar-", false),
        ("bar.foo${1}bar", false),
        ("_${1}_", true),
        ("foo${bar}foo", true),
    ];
    for (s, valid) in cases {
        assert_eq!(is_legacy_name_with_vars(s), valid, "{s}");
    }
}

#[test]
fn actions_parse_case_insensitively_and_unknown_ones_fail() {
    assert_eq!(
        rules("- {action: Keep, regex: x}")[0].action,
        Some(Action::Keep)
    );
    let node = crate::yaml::parse("- {action: bogus}").unwrap().unwrap();
    let err = Vec::<RelabelConfig>::decode(&node).unwrap_err();
    assert_eq!(err.message, "unknown relabel action \"bogus\"");
}

#[test]
fn bad_regex_is_a_go_style_error() {
    let node = crate::yaml::parse("- {regex: 'a(b'}").unwrap().unwrap();
    let err = Vec::<RelabelConfig>::decode(&node).unwrap_err();
    assert!(
        err.message.starts_with("error parsing regexp"),
        "{}",
        err.message
    );
}
