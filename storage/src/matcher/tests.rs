use super::*;
use proptest::prelude::*;

fn re(p: &str) -> Matcher {
    Matcher::new(MatchOp::Regex, "l", p).unwrap_or_else(|e| panic!("{e}"))
}

/// The reference: the plain `regex` crate on the pattern anchored as Prometheus anchors
/// it. Valid for patterns that mean the same in RE2 and `regex` syntax (no `\d`, `\b`,
/// literal braces, ...), which is all the patterns this is used with.
fn reference(p: &str) -> regex::Regex {
    regex::Regex::new(&format!("^(?s:{p})$")).unwrap()
}

/// Checks a regex matcher against the reference on `values`, plus the consistency of its
/// set matches and prefix.
fn check_against_reference(p: &str, values: &[String]) -> Result<(), TestCaseError> {
    let m = re(p);
    let not = Matcher::new(MatchOp::NotRegex, "l", p).unwrap();
    let r = reference(p);
    prop_assert_eq!(
        m.matches_empty(),
        r.is_match(""),
        "matches_empty of {:?}",
        p
    );
    for v in values.iter().map(String::as_str).chain([""]) {
        let want = r.is_match(v);
        prop_assert_eq!(
            m.matches(v),
            want,
            "{:?} on {:?} ({})",
            p,
            v,
            m.strategy_kind()
        );
        prop_assert_eq!(not.matches(v), !want);
        if let Some(set) = m.set_matches() {
            prop_assert_eq!(set.iter().any(|s| s == v), want, "set {:?} of {:?}", set, p);
        }
        if let (Some(prefix), true) = (m.prefix(), want) {
            prop_assert!(v.starts_with(prefix), "prefix {:?} of {:?}", prefix, p);
        }
    }
    if let Some(set) = m.set_matches() {
        for s in set {
            prop_assert!(r.is_match(s), "set member {:?} of {:?}", s, p);
        }
        prop_assert!(set.windows(2).all(|w| w[0] < w[1]));
    }
    Ok(())
}

/// Strings built from pieces that the generated patterns use, so that matches are common.
fn corpus() -> Vec<String> {
    let words = [
        "", "a", "b", "foo", "bar", "FOO", "Foo", "fOO", "k", "K", "\u{212A}", "é", "É", "-", ".",
        "\n", " ", "ab", "ba", "foobar", "barfoo",
    ];
    let mut out = Vec::new();
    for a in words {
        for b in words {
            out.push(format!("{a}{b}"));
            for c in ["", "x", "foo", "\n"] {
                out.push(format!("{a}{b}{c}"));
            }
        }
    }
    // Long values take the vectorised substring search.
    let long = "x".repeat(70);
    for w in ["foo", "bar", "FOO", "ab", "\n", "é", "K"] {
        out.push(format!("{long}{w}"));
        out.push(format!("{w}{long}"));
        out.push(format!("{w}{long}{w}"));
        out.push(format!("{long}{w}{long}bar"));
    }
    out.push("ab".repeat(40));
    out.push("fo".repeat(40) + "o");
    out.sort();
    out.dedup();
    out
}

// -------------------------------------------------------------------------------------
// Fast paths: each shape takes the path it should, and agrees with the regex engine.

#[test]
fn fast_paths_are_taken_and_agree_with_the_engine() {
    let cases: &[(&str, &str)] = &[
        ("foo", "set"),
        ("", "set"),
        ("foo|bar|b", "set"),
        ("(foo|bar)", "set"),
        ("^foo$", "set"),
        ("^(foo|bar)$", "set"),
        ("[ab]", "set"),
        ("f[ab]o", "set"),
        ("foo?", "set"),
        ("(?i)foo", "folded"),
        ("(?i)foo|bar", "folded"),
        ("(?i)k", "folded"), // `k`, `K` and the Kelvin sign
        ("(?i)kubernetes", "folded"),
        (".*", "any"),
        ("(.*)", "any"),
        ("^.*$", "any"),
        (".+", "non-empty"),
        (".{2,}", "glob"),
        ("foo.*", "glob"),
        ("foo.+", "glob"),
        (".*foo", "glob"),
        (".+foo", "glob"),
        (".*foo.*", "glob"),
        (".*(foo|bar).*", "glob"),
        (".*foo.*bar.*", "glob"),
        ("foo.*bar", "glob"),
        ("foo.*-.*bar.+", "glob"),
        ("(?i)foo.*", "glob"),
        ("(?i).*foo.*", "glob"),
        ("(?i).*k", "glob"),
        ("foo.*|.*bar", "or"),
        ("a|.*bar", "or"),
        (".*foo.*|.*bar.*", "or"),
        ("foo[a-z]+", "prefiltered regex"),
        ("(?i)foo[a-z]+", "prefiltered regex"),
        ("[a-z]+foo", "prefiltered regex"),
        ("[a-z]+-foo-[a-z]+", "prefiltered regex"),
        ("(?-s:.*)", "regex"),
        ("(?-s:foo.*)", "prefiltered regex"),
        ("[a-z]+", "regex"),
        ("a+", "regex"),
    ];
    let values = corpus();
    for (p, kind) in cases {
        assert_eq!(re(p).strategy_kind(), *kind, "strategy for {p:?}");
        check_against_reference(p, &values).unwrap();
    }
}

#[test]
fn set_matches_are_exact_finite_sets() {
    let set = |p: &str| re(p).set_matches().map(<[String]>::to_vec);
    assert_eq!(set("b|a|c"), Some(vec!["a".into(), "b".into(), "c".into()]));
    assert_eq!(set("foo"), Some(vec!["foo".into()]));
    assert_eq!(set("a|a"), Some(vec!["a".into()]));
    assert_eq!(set("a|"), Some(vec!["".into(), "a".into()]));
    assert_eq!(set("^(up|down)$"), Some(vec!["down".into(), "up".into()]));
    assert_eq!(
        set("(?i)up"),
        Some(vec!["UP".into(), "Up".into(), "uP".into(), "up".into()])
    );
    assert_eq!(set("[0-9]").map(|s| s.len()), Some(10));
    assert_eq!(set("node-[0-9]{2}").map(|s| s.len()), Some(100));
    // 26 * 26 values: too many to look up one by one, but still matched as a set.
    assert_eq!(set("[a-z][a-z]"), None);
    assert_eq!(re("[a-z][a-z]").strategy_kind(), "set");
    assert_eq!(set("a.*"), None);
    assert_eq!(set("a+"), None);
    let eq = Matcher::new(MatchOp::Equal, "l", "a").unwrap();
    assert_eq!(eq.set_matches(), None);
    let not = Matcher::new(MatchOp::NotRegex, "l", "a|b").unwrap();
    assert_eq!(
        not.set_matches(),
        Some(&["a".to_string(), "b".to_string()][..])
    );
}

#[test]
fn prefixes() {
    let prefix = |p: &str| re(p).prefix().map(str::to_string);
    assert_eq!(prefix("foo.*").as_deref(), Some("foo"));
    assert_eq!(prefix("^foo.*").as_deref(), Some("foo"));
    assert_eq!(prefix("foo-[0-9]+").as_deref(), Some("foo-"));
    assert_eq!(prefix("(foo)(bar).*").as_deref(), Some("foobar"));
    assert_eq!(prefix("foo|foobar").as_deref(), Some("foo"));
    assert_eq!(prefix("foo").as_deref(), Some("foo"));
    assert_eq!(prefix("(?i)foo.*"), None);
    assert_eq!(prefix(".*foo"), None);
    assert_eq!(prefix("foo|bar"), None);
    assert_eq!(prefix(""), None);
    assert_eq!(
        Matcher::new(MatchOp::Equal, "l", "foo").unwrap().prefix(),
        None
    );
}

// -------------------------------------------------------------------------------------
// Prometheus's documented behaviour (docs/querying/basics.md and the RE2 syntax).

#[test]
fn regexes_are_fully_anchored() {
    // "A match of env=~"foo" is treated as env=~"^foo$"."
    let m = Matcher::new(MatchOp::Regex, "env", "foo").unwrap();
    assert!(m.matches("foo"));
    assert!(!m.matches("foobar"));
    assert!(!m.matches("xfoo"));
    let m = Matcher::new(MatchOp::Regex, "env", "staging|testing|development").unwrap();
    assert!(m.matches("testing"));
    assert!(!m.matches("stagingtesting"));
    assert!(!m.matches("test"));
    // An alternation is anchored as a whole: `a|b.*` is `^(?:a|b.*)$`.
    let m = re("a|b.*");
    assert!(m.matches("bxx"));
    assert!(!m.matches("ax"));
}

#[test]
fn documented_selector_examples() {
    // {__name__=~"job:.*"} selects every metric whose name starts with "job:".
    let m = Matcher::new(MatchOp::Regex, "__name__", "job:.*").unwrap();
    assert!(m.matches("job:http_requests:rate5m"));
    assert!(!m.matches("http_requests_total"));
    // {job=~".+"} is a matcher that does not match the empty string; {job=~".*"} is one
    // that does.
    assert!(!Matcher::new(MatchOp::Regex, "job", ".+")
        .unwrap()
        .matches_empty());
    assert!(Matcher::new(MatchOp::Regex, "job", ".*")
        .unwrap()
        .matches_empty());
    // replica!="rep-a", replica=~"rep.*"
    let a = Matcher::new(MatchOp::NotEqual, "replica", "rep-a").unwrap();
    let b = Matcher::new(MatchOp::Regex, "replica", "rep.*").unwrap();
    let both = |v: &str| a.matches(v) && b.matches(v);
    assert!(both("rep-b"));
    assert!(!both("rep-a"));
    assert!(!both(""));
}

#[test]
fn matches_empty() {
    let m = |op, v: &str| Matcher::new(op, "l", v).unwrap().matches_empty();
    assert!(m(MatchOp::Equal, ""));
    assert!(!m(MatchOp::Equal, "a"));
    assert!(m(MatchOp::NotEqual, "a"));
    assert!(!m(MatchOp::NotEqual, ""));
    assert!(m(MatchOp::Regex, ""));
    assert!(m(MatchOp::Regex, "a|"));
    assert!(m(MatchOp::Regex, "a*"));
    assert!(!m(MatchOp::Regex, "a+"));
    assert!(m(MatchOp::NotRegex, ".+"));
    assert!(!m(MatchOp::NotRegex, ".*"));
}

#[test]
fn case_insensitive_flag() {
    let m = re("(?i)get|post");
    for v in ["GET", "get", "Get", "POST", "pOsT"] {
        assert!(m.matches(v), "{v}");
    }
    assert!(!m.matches("GETPOST"));
    // Simple case folding, as RE2 does: K folds to the Kelvin sign, s to the long s.
    assert!(re("(?i)k8s").matches("\u{212A}8\u{17F}"));
    assert!(re("(?i)prod.*").matches("PRODUCTION"));
    assert!(re("(?i).*error.*").matches("an ERROR occurred"));
    assert!(!re("(?i).*error.*").matches("an err occurred"));
    // The flag can be scoped to a group.
    let m = re("(?i:a)b");
    assert!(m.matches("Ab"));
    assert!(!m.matches("AB"));
}

#[test]
fn utf8_names_values_and_patterns() {
    let m = re("ü.*");
    assert!(m.matches("über"));
    assert!(!m.matches("uber"));
    // `.` is one character, not one byte.
    assert!(re("h.llo").matches("héllo"));
    assert!(!re("h.llo").matches("hllo"));
    assert!(re("...").matches("日本語"));
    assert!(re(".*本.*").matches("日本語"));
    assert!(re("[日本]+語").matches("日本語"));
    let m = Matcher::new(MatchOp::Equal, "service.name", "café").unwrap();
    assert!(m.matches("café"));
    assert_eq!(m.name(), "service.name");
    assert!(re(r"\p{Han}+").matches("日本"));
}

#[test]
fn dot_matches_newline() {
    // Prometheus compiles `^(?s:...)$`.
    assert!(re("a.b").matches("a\nb"));
    assert!(re(".*").matches("multi\nline"));
    assert!(re("foo.*").matches("foo\nbar"));
    assert!(re(".+").matches("\n"));
    // Unless the pattern turns it off.
    assert!(!re("(?-s)a.b").matches("a\nb"));
    assert!(!re("(?-s:.*)").matches("x\ny"));
}

#[test]
fn re2_syntax_is_honoured() {
    // \d is ASCII in RE2; braces that are not a repetition are literal.
    assert!(re(r"\d+").matches("42"));
    assert!(!re(r"\d+").matches("٤٢"));
    assert!(re(r"/api/v1/{id}").matches("/api/v1/{id}"));
    assert!(re(r"\Q1.2.3\E").matches("1.2.3"));
    assert!(!re(r"\Q1.2.3\E").matches("1x2x3"));
}

#[test]
fn invalid_regexes_are_errors() {
    let e = Matcher::new(MatchOp::Regex, "job", "(foo").unwrap_err();
    assert_eq!(
        e,
        MatcherError::InvalidRegex {
            name: "job".into(),
            regex: "(foo".into(),
            reason: "error parsing regexp: missing closing ): `(foo`".into(),
        }
    );
    assert_eq!(
        e.to_string(),
        r#"invalid regular expression "(foo" in matcher for label "job": error parsing regexp: missing closing ): `(foo`"#
    );
    assert!(Matcher::new(MatchOp::NotRegex, "job", "a**").is_err());
    assert!(Matcher::new(MatchOp::Regex, "job", r"\p{NoSuchClass}").is_err());
    // Equality matchers take any value.
    assert!(Matcher::new(MatchOp::Equal, "job", "(foo").is_ok());
}

#[test]
fn display_as_prometheus() {
    let m = |op, n: &str, v: &str| Matcher::new(op, n, v).unwrap().to_string();
    assert_eq!(m(MatchOp::Equal, "job", "api"), r#"job="api""#);
    assert_eq!(m(MatchOp::NotEqual, "job", "api"), r#"job!="api""#);
    assert_eq!(m(MatchOp::Regex, "code", "5.."), r#"code=~"5..""#);
    assert_eq!(m(MatchOp::NotRegex, "code", "5.."), r#"code!~"5..""#);
    assert_eq!(
        m(MatchOp::Equal, "service.name", "x"),
        r#""service.name"="x""#
    );
    assert_eq!(m(MatchOp::Equal, "", "x"), r#"""="x""#);
    assert_eq!(m(MatchOp::Equal, "_9", "x"), r#"_9="x""#);
    assert_eq!(m(MatchOp::Equal, "9a", "x"), r#""9a"="x""#);
    assert_eq!(m(MatchOp::Equal, "a", "q\"\\\n"), r#"a="q\"\\\n""#);
    assert_eq!(m(MatchOp::Regex, "a", r"\d+"), r#"a=~"\\d+""#);
    assert_eq!(m(MatchOp::Equal, "a", "ü"), r#"a="ü""#);
}

#[test]
fn inverse_and_equality() {
    let m = re("a|b");
    let inv = m.inverse();
    assert_eq!(inv.op(), MatchOp::NotRegex);
    assert_eq!(inv.value(), "a|b");
    for v in ["a", "b", "c", ""] {
        assert_eq!(inv.matches(v), !m.matches(v));
    }
    assert_eq!(inv.matches_empty(), !m.matches_empty());
    assert_eq!(inv.inverse(), m);
    assert_ne!(inv, m);
    let eq = Matcher::new(MatchOp::Equal, "l", "x").unwrap();
    assert_eq!(eq.inverse().op(), MatchOp::NotEqual);
    assert!(eq.inverse().matches("y"));
    assert_eq!(MatchOp::Regex.inverse(), MatchOp::NotRegex);
}

// -------------------------------------------------------------------------------------
// Brute force: random patterns against the plain regex engine.

/// Patterns built from constructs that mean the same in RE2 and `regex` syntax.
fn pattern() -> impl Strategy<Value = String> {
    let atom = prop_oneof![
        4 => prop::sample::select(vec![
            "a", "b", "foo", "bar", "k", "K", "é", r"\-", r"\.", " ", "o", "x",
        ])
        .prop_map(str::to_string),
        2 => Just(".".to_string()),
        1 => prop::sample::select(vec!["[ab]", "[a-c]", "[^a]", "[Kk]", "[é-ë]", "[\\n.]"])
            .prop_map(str::to_string),
    ];
    let leaf = (
        atom,
        prop::sample::select(vec!["", "", "", "*", "+", "?", "{1,2}", "*?"]),
    )
        .prop_map(|(a, q)| format!("{a}{q}"));
    let expr = leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 1..4).prop_map(|v| v.concat()),
            prop::collection::vec(inner.clone(), 2..4).prop_map(|v| v.join("|")),
            (inner, prop::sample::select(vec!["", "*", "+", "?"]))
                .prop_map(|(e, q)| format!("({e}){q}")),
        ]
    });
    (
        prop::sample::select(vec!["", "", "(?i)", "(?-s)"]),
        prop::sample::select(vec!["", "", ".*", ".+", "^"]),
        expr,
        prop::sample::select(vec!["", "", ".*", ".+", "$"]),
    )
        .prop_map(|(flags, pre, e, post)| format!("{flags}{pre}{e}{post}"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_patterns_agree_with_the_regex_engine(
        p in pattern(),
        extra in prop::collection::vec("[abfoKké\\-. \n]{0,6}|[abfoKké\\-. \n]{60,90}", 0..8),
    ) {
        let mut values = corpus();
        values.extend(extra);
        check_against_reference(&p, &values)?;
    }

    #[test]
    fn alternations_of_literals(words in prop::collection::vec("[a-cA-C.é]{0,4}", 1..20), ci in any::<bool>(),
                                extra in prop::collection::vec("[a-cA-C.é]{0,4}", 0..20)) {
        let escaped: Vec<String> = words.iter().map(|w| regex_syntax::escape(w)).collect();
        let p = format!("{}{}", if ci { "(?i)" } else { "" }, escaped.join("|"));
        let mut values = words.clone();
        values.extend(extra);
        values.extend(words.iter().map(|w| w.to_uppercase()));
        check_against_reference(&p, &values)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    /// Any text, valid or not, either compiles or is an error: never a panic. A compiled
    /// matcher agrees with the regex engine wherever the RE2 and `regex` syntaxes agree
    /// (checked by the tests above); here it only has to answer.
    #[test]
    fn arbitrary_patterns_never_panic(
        p in prop_oneof![
            r"[\\()\[\]{}|*+?.^$a-c0-7xpPQEdDwWsSbBAzC:<>,=_\-'é]{0,14}",
            ".{0,10}",
        ],
        v in ".{0,12}",
    ) {
        if let Ok(m) = Matcher::new(MatchOp::Regex, "l", p.as_str()) {
            let _ = m.matches(&v);
            let _ = m.matches("");
            let _ = m.set_matches();
            let _ = m.prefix();
        }
    }
}
