//! Property tests: the parser never panics, escaping round-trips, and normalised conditions re-parse to the
//! same tree. (The cargo-fuzz target in fuzz/ explores the same surface for longer.)

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on bad fixtures

use proptest::prelude::*;
use sigil_rule::parse_expr;
use sigil_rule::{SigmaString, escape};

/// YAML-ish fragments that reach deep into the parser more often than random bytes do.
fn rule_like() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("title: t\n".to_string()),
        Just("logsource:\n    product: windows\n".to_string()),
        Just("detection:\n".to_string()),
        Just("    sel:\n".to_string()),
        Just("        Image|endswith: '\\\\x.exe'\n".to_string()),
        Just("        a|re|i: '(a|b)*'\n".to_string()),
        Just("        b|cidr: 10.0.0.0/8\n".to_string()),
        Just("        c|base64offset|contains: x\n".to_string()),
        Just("        - 1\n".to_string()),
        Just("    condition: sel and not (1 of s* or all of them)\n".to_string()),
        Just("correlation: {type: event_count, rules: [x], timespan: 1h, condition: {gt: 1}}\n".to_string()),
        Just("---\n".to_string()),
        Just("&a [*a]\n".to_string()),
        "[ -~]{0,20}\n",
    ];
    prop::collection::vec(piece, 0..14).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn parser_never_panics_on_rule_like_text(text in rule_like()) {
        let _ = sigil_rule::parse_str(&text);
    }

    #[test]
    fn parser_never_panics_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let _ = sigil_rule::parse_bytes(&bytes, &sigil_rule::yaml::Limits::default());
    }

    #[test]
    fn escaped_text_parses_back_to_the_same_literal(text in "\\PC{0,30}") {
        let parsed = SigmaString::parse(&escape(&text), false);
        prop_assert_eq!(parsed.as_literal(), Some(text));
    }

    #[test]
    fn conditions_never_panic(text in "[a-z1() *_|]{0,40}") {
        let _ = parse_expr(&text);
    }

    #[test]
    fn normalised_conditions_reparse_to_the_same_text(expr in condition()) {
        let first = parse_expr(&expr).map(|e| e.to_string());
        prop_assert!(first.is_ok(), "{expr}");
        let first = first.unwrap_or_default();
        let second = parse_expr(&first).map(|e| e.to_string()).unwrap_or_default();
        prop_assert_eq!(first, second);
    }
}

fn condition() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        "[a-z][a-z0-9_]{0,6}"
            .prop_filter("keyword", |s| !["and", "or", "not", "of", "them", "all", "any"].contains(&s.as_str())),
        Just("1 of sel_*".to_string()),
        Just("all of them".to_string()),
    ];
    leaf.prop_recursive(4, 24, 3, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a} and {b}")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a} or {b}")),
            inner.clone().prop_map(|a| format!("not {a}")),
            inner.prop_map(|a| format!("({a})")),
        ]
    })
}
