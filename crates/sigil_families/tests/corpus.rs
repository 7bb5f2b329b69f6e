//! The loaders and parsers on the real family corpora in `../shared/corpus/families/` (skipped when absent
//! unless `SIGIL_REQUIRE_CORPUS` is set), and on Elastic and Sentinel rules written for these tests.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers: a panic is the test failing")]
use std::path::{Path, PathBuf};

use sigil_families::{Extraction, Family, Mappings, Op, detect, load};

fn families() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/families");
    if dir.is_dir() {
        return Some(dir);
    }
    assert!(
        std::env::var_os("SIGIL_REQUIRE_CORPUS").is_none(),
        "SIGIL_REQUIRE_CORPUS is set but {} is missing",
        dir.display()
    );
    None
}

fn fixtures(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

/// Loads a family, prints the parsed share and returns (rules, parsed, indicators).
fn figures(family: Family, path: &Path) -> (usize, usize, usize, sigil_families::Loaded) {
    let loaded = load(family, &[path.to_path_buf()]);
    let parsed = loaded.rules.iter().filter(|r| r.extraction.is_parsed()).count();
    let m = Mappings::builtin().unwrap();
    let indicators: usize = loaded.rules.iter().map(|r| m.indicators(family, &r.predicates).len()).sum();
    eprintln!(
        "{family}: {parsed} of {} queries parsed, {indicators} indicators ({} files, {} errors)",
        loaded.rules.len(),
        loaded.files,
        loaded.errors.len()
    );
    (loaded.rules.len(), parsed, indicators, loaded)
}

#[test]
fn splunk_corpus() {
    let Some(dir) = families() else { return };
    let root = dir.join("splunk");
    assert_eq!(detect(&root), Some(Family::Splunk), "recognised from the files");
    let (rules, parsed, indicators, loaded) = figures(Family::Splunk, &root);
    assert_eq!(rules, 1613, "every detection loads: {:?}", loaded.errors.first());
    assert!(loaded.errors.is_empty(), "{:?}", loaded.errors.first());
    assert!(parsed * 100 / rules >= 80, "at least 80 % parsed, got {parsed}");
    assert!(indicators > 3000);
    // The meshagent-style mapping on a real rule: 7-Zip spawned by rundll32 is `Processes.parent_process_name IN (…)`.
    let r = loaded.rules.iter().find(|r| r.title == "Anomalous usage of 7zip").unwrap();
    assert!(r.extraction.is_parsed());
    assert_eq!(r.event_kinds, ["Endpoint.Processes"]);
    let ind = Mappings::builtin().unwrap().indicators(Family::Splunk, &r.predicates);
    assert!(
        ind.iter().any(|i| i.field.as_deref() == Some("ParentImage") && i.value == "*\\\\rundll32.exe" && i.mapped)
    );
    // Macros were expanded from the family's own folder.
    let r = loaded.rules.iter().find(|r| r.query.contains("`process_cmd`")).unwrap();
    assert!(r.expanded_query.as_deref().unwrap().contains("Processes.process_name=cmd.exe"));
    assert!(r.techniques.iter().all(|t| t.starts_with('T')));
    assert!(loaded.rules.iter().filter(|r| !r.techniques.is_empty()).count() >= 1588);
}

#[test]
fn chronicle_corpus() {
    let Some(dir) = families() else { return };
    let root = dir.join("chronicle");
    assert_eq!(detect(&root), Some(Family::Chronicle));
    let (rules, parsed, _, loaded) = figures(Family::Chronicle, &root);
    assert_eq!(rules, 348, "{:?}", loaded.errors.first());
    assert!(parsed * 100 / rules >= 75, "got {parsed}");
    let r = loaded.rules.iter().find(|r| r.title == "ConvertTo-SecureString Cmdlet Usage Via CommandLine").unwrap();
    assert_eq!(r.techniques, ["T1059.001"]);
    assert_eq!(r.event_kinds, ["PROCESS_LAUNCH"]);
    assert!(r.predicates.iter().any(|p| p.op == Op::Contains && p.value == "convertto-securestring"));
}

#[test]
fn panther_corpus() {
    let Some(dir) = families() else { return };
    let root = dir.join("panther");
    assert_eq!(detect(&root), Some(Family::Panther));
    let (rules, parsed, _, loaded) = figures(Family::Panther, &root);
    assert!(rules >= 866, "got {rules}: {:?}", loaded.errors.first());
    assert_eq!(parsed, 0, "Python rules: nothing is extracted, honestly");
    assert!(loaded.rules.iter().all(|r| matches!(r.extraction, Extraction::NotExtracted { .. })));
    assert!(loaded.rules.iter().filter(|r| !r.techniques.is_empty()).count() >= 600);
    assert!(loaded.rules.iter().filter(|r| r.query.contains("def rule(")).count() >= 860);
}

#[test]
fn elastic_rules_written_for_the_tests() {
    let root = fixtures("elastic");
    assert_eq!(detect(&root), Some(Family::Elastic));
    let loaded = load(Family::Elastic, &[root]);
    assert_eq!(loaded.errors.len(), 1, "the broken file is reported, the rest loads: {:?}", loaded.errors);
    assert!(loaded.errors[0].path.ends_with("broken.toml"));
    assert_eq!(loaded.rules.len(), 3);
    let eql = loaded.rules.iter().find(|r| r.title == "Shell Spawned by Mesh Agent").unwrap();
    assert_eq!(eql.techniques, ["T1219", "T1219.002"]);
    assert_eq!((eql.date.as_deref(), eql.severity.as_deref()), (Some("2026-01-10"), Some("medium")));
    assert_eq!(eql.platform.as_deref(), Some("windows"));
    let ind = Mappings::builtin().unwrap().indicators(Family::Elastic, &eql.predicates);
    assert!(ind.iter().any(|i| i.field.as_deref() == Some("ParentImage") && i.value == "*\\\\meshagent.exe"));
    let kql = loaded.rules.iter().find(|r| r.language == sigil_families::Language::Kuery).unwrap();
    assert!(kql.extraction.is_parsed());
    assert_eq!(kql.event_kinds, ["process"]);
    let seq = loaded.rules.iter().find(|r| r.title.contains("Sequence")).unwrap();
    assert!(!seq.extraction.is_parsed());
}

#[test]
fn sentinel_rules_written_for_the_tests() {
    let root = fixtures("sentinel");
    assert_eq!(detect(&root), Some(Family::Sentinel));
    let loaded = load(Family::Sentinel, &[root]);
    assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
    assert_eq!(loaded.rules.len(), 2);
    let r = loaded.rules.iter().find(|r| r.title == "Mesh Agent launching a shell").unwrap();
    assert!(r.extraction.is_parsed(), "{:?}", r.extraction);
    assert_eq!(r.event_kinds, ["DeviceProcessEvents"]);
    assert_eq!(r.techniques, ["T1219.002"]);
    assert_eq!(r.data_sources, ["DeviceProcessEvents (MicrosoftThreatProtection)"]);
    let ind = Mappings::builtin().unwrap().indicators(Family::Sentinel, &r.predicates);
    assert!(ind.iter().any(|i| i.field.as_deref() == Some("ParentImage") && i.value == "*\\\\meshagent.exe"));
    let other = loaded.rules.iter().find(|r| r.title != "Mesh Agent launching a shell").unwrap();
    assert!(!other.extraction.is_parsed(), "a `let` query is outside the subset");
}
