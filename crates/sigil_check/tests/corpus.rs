//! The SigmaHQ corpus and the specification's examples. Set SIGIL_REQUIRE_CORPUS=1 to make a missing corpus a
//! failure (CI does); otherwise these tests skip with a message.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on bad fixtures

use std::path::{Path, PathBuf};

use sigil_check::load;
use sigil_rule::LoadOptions;
use sigil_rule::{Document, normalize};

fn shared(rel: &str) -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared").join(rel);
    if p.exists() {
        return Some(p);
    }
    assert!(std::env::var_os("SIGIL_REQUIRE_CORPUS").is_none_or(|v| v != "1"), "corpus missing at {}", p.display());
    eprintln!("skipping: {} not found", p.display());
    None
}

fn sigmahq_rule_dirs() -> Option<Vec<PathBuf>> {
    let root = shared("corpus/sigmahq")?;
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir() && p.file_name().unwrap().to_string_lossy().starts_with("rules"))
        .collect();
    dirs.sort();
    Some(dirs)
}

#[test]
fn sigmahq_rules_have_no_errors() {
    let Some(dirs) = sigmahq_rule_dirs() else { return };
    let set = load(&dirs, &LoadOptions::default());
    let report = set.report();
    let errors: Vec<_> =
        report.diagnostics.iter().filter(|d| d.severity == sigil_diagnostics::Severity::Error).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    assert!(report.rules > 3500, "only {} rules", report.rules);
    assert_eq!(report.files, report.rules, "one rule per file in SigmaHQ");
}

#[test]
fn every_corpus_detection_round_trips_through_the_normalised_form() {
    let Some(dirs) = sigmahq_rule_dirs() else { return };
    let set = load(&dirs, &LoadOptions::default());
    let mut checked = 0;
    for (file, doc) in set.documents() {
        let Document::Rule(rule) = doc else { continue };
        let yaml = normalize::detection_yaml(&rule.detection);
        let again = sigil_rule::parse_str(&format!("title: t\nlogsource: {{product: x}}\n{yaml}"));
        let errors: Vec<_> = again.diagnostics.iter().filter(|d| d.is_error()).collect();
        assert!(errors.is_empty(), "{}: {errors:?}\n{yaml}", file.display_path);
        let [Document::Rule(re)] = again.documents.as_slice() else { panic!("{}", file.display_path) };
        assert_eq!(normalize::detection_yaml(&re.detection), yaml, "{}", file.display_path);
        // The normalised condition means the same: same identifiers in the same tree.
        let a: Vec<String> = rule.detection.conditions.iter().map(|c| c.expr.to_string()).collect();
        let b: Vec<String> = re.detection.conditions.iter().map(|c| c.expr.to_string()).collect();
        assert_eq!(a, b, "{}", file.display_path);
        checked += 1;
    }
    assert!(checked > 3500);
}

#[test]
fn deprecated_rules_parse_with_warnings_only_except_sigma1_aggregations() {
    let Some(dir) = shared("corpus/sigmahq/deprecated") else { return };
    let set = load(&[dir], &LoadOptions::default());
    for d in set.diagnostics().iter().filter(|d| d.severity == sigil_diagnostics::Severity::Error) {
        // Sigma 1 aggregations are errors by design (issue: point users to correlation rules).
        assert_eq!(d.code.0, "SG310", "{d:?}");
    }
}

#[test]
fn specification_examples_parse_with_only_reference_diagnostics() {
    let Some(dir) = shared("corpus/sigma-specification/tests/schema") else { return };
    let set = load(&[dir], &LoadOptions::default());
    assert!(set.files.len() >= 12);
    for d in set.diagnostics() {
        // The examples reference rules that are not part of them, and the ECS variants reuse their twin's id.
        match d.code.0 {
            "SG401" => {}
            // The filter examples name rules that are not among them.
            "SG406" => assert!(d.file.contains("/filter/"), "{d:?}"),
            // The value_percentile example has no `percentile:` (the specification does not say which).
            "SG408" => assert!(d.file.ends_with("value_percentile.yml"), "{d:?}"),
            // The spec's example predates ATT&CK v19 (defense-evasion, T1562.001).
            "SG214" => assert!(d.file.ends_with("rule_1.yml"), "{d:?}"),
            "SG404" => assert!(d.file.ends_with("_ecs.yml"), "{d:?}"),
            _ => panic!("{d:?}"),
        }
    }
    let kinds: Vec<_> = set.documents().map(|(_, d)| d.kind()).collect();
    assert!(kinds.contains(&sigil_rule::DocumentKind::Correlation));
    assert!(kinds.contains(&sigil_rule::DocumentKind::Filter));
}
