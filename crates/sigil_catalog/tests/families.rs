//! The catalog with rule families beside SigmaHQ: Splunk, Chronicle and Panther from `../shared/corpus/families`,
//! Elastic and Sentinel from the rule files written for `sigil_families`' tests.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers: a panic is the test failing")]

mod common;

use std::path::PathBuf;
use std::sync::OnceLock;

use sigil_catalog::{Catalog, CatalogOptions, Facet, SearchQuery, SourceSpec};

fn fixtures(name: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../sigil_families/tests/fixtures")).join(name)
}

fn catalog() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(|| {
        let fam = common::shared().join("corpus/families");
        let mut sources = common::sigmahq_sources();
        for s in &mut sources {
            s.name = "sigma".to_string();
        }
        let mut sources = SourceSpec::parse_all(
            sources.iter().map(|s| format!("sigma={}", s.paths[0].display())).collect::<Vec<_>>(),
        );
        // Named by family or not: the family is recognised from the files either way.
        sources.push(SourceSpec::new("splunk", vec![fam.join("splunk")]));
        sources.push(SourceSpec::new("google", vec![fam.join("chronicle")]));
        sources.push(SourceSpec::new("panther", vec![fam.join("panther")]));
        sources.push(SourceSpec::new("elastic", vec![fixtures("elastic")]));
        sources.push(SourceSpec::new("sentinel", vec![fixtures("sentinel")]));
        Catalog::load(&sources, &CatalogOptions::default()).unwrap()
    })
}

#[test]
fn families_load_beside_sigma_with_figures() {
    if !common::corpus_available("families_load_beside_sigma_with_figures") {
        return;
    }
    let c = catalog();
    let fams = c.families();
    for f in &fams {
        eprintln!(
            "{}: {} rules, {} parsed, {} not extracted, {} indicators ({} mapped)",
            f.family, f.rules, f.parsed, f.not_extracted, f.indicators, f.mapped_indicators
        );
    }
    let get = |n: &str| fams.iter().find(|f| f.family == n).unwrap();
    assert_eq!(get("splunk").rules, 1613);
    assert_eq!(get("chronicle").rules, 348, "the source named `google` is recognised as Chronicle");
    assert_eq!(get("panther").parsed, 0);
    assert_eq!(get("elastic").rules, 3);
    assert_eq!(get("sentinel").rules, 2);
    assert!(c.len() > 6000, "{} pages", c.len());
    assert!(c.failed_files().iter().any(|f| f.path.ends_with("broken.toml")));
    // The family facet.
    let r = c.search(&SearchQuery::new("").filter(Facet::Family, "splunk"));
    assert_eq!(r.total, 1613);
    let splunk_rule = c.pages().iter().find(|p| p.title == "Anomalous usage of 7zip").unwrap();
    assert_eq!(splunk_rule.techniques, ["T1560", "T1560.001"]);
    let names: Vec<&str> = splunk_rule.attack.iter().flat_map(|a| &a.techniques).map(|t| t.name.as_str()).collect();
    assert!(names.contains(&"Archive Collected Data: Archive via Utility"), "{names:?}");
    let q = splunk_rule.query.as_ref().unwrap();
    assert_eq!((q.language.as_str(), q.extracted), ("spl", true));
    assert!(splunk_rule.events.iter().any(|e| e.provider == "Sysmon" && e.event_id == 1), "{:?}", splunk_rule.coverage);
    let mapped = splunk_rule
        .indicators
        .iter()
        .find(|i| i.field.as_deref() == Some("ParentImage") && i.value.contains("rundll32"))
        .unwrap();
    assert_eq!(mapped.mapped_from.as_deref(), Some("Processes.parent_process_name = rundll32.exe"));
    assert_eq!(mapped.kind.as_str(), "ends_with");
    // A query outside the subset shows its query and says so.
    let outside =
        c.pages().iter().find(|p| p.query.as_ref().is_some_and(|q| !q.extracted && q.language == "spl")).unwrap();
    assert!(outside.indicators.is_empty());
    assert!(outside.query.as_ref().unwrap().note.as_deref().unwrap().starts_with("indicators not extracted"));
}

#[test]
fn meshagent_seed_has_its_equivalents_in_other_families() {
    if !common::corpus_available("meshagent_seed_has_its_equivalents_in_other_families") {
        return;
    }
    let c = catalog();
    let i = c.index_of_key("74a2b202-73e0-4693-9a3a-9d36146d0775").unwrap();
    let page = c.page(i).unwrap();
    let parent = page.indicators.iter().find(|x| x.field.as_deref() == Some("ParentImage")).unwrap();
    // The Elastic and Sentinel test rules look for the same parent: counted per family.
    assert_eq!(parent.corpus_by_source.get("elastic"), 1, "{:?}", parent.corpus_by_source);
    assert_eq!(parent.corpus_by_source.get("sentinel"), 1);
    let same = c.same_in_other_families(i);
    let fams: Vec<&str> = same.iter().map(|s| s.family.as_str()).collect();
    assert!(fams.contains(&"elastic") && fams.contains(&"sentinel"), "{fams:?}");
    assert!(same[0].shared.contains(&"ParentImage ends_with \\meshagent.exe".to_string()), "{:?}", same[0].shared);
    assert!(fams.contains(&"splunk"), "Splunk rules on cmd.exe/powershell.exe children share the shells");
    // Splunk's remote-access rules go through a lookup table (`remote_access_software`): no literal
    // meshagent.exe there, so no Splunk rule shares the parent (Splunk rules share only the shells).
    let parent_label = "ParentImage ends_with \\meshagent.exe";
    assert!(same.iter().filter(|s| s.shared.iter().any(|l| l == parent_label)).all(|s| s.family != "splunk"));
    assert_eq!(parent.corpus_by_source.get("splunk"), 0);
    assert!(same.iter().take(2).all(|s| s.family == "elastic" || s.family == "sentinel"), "most shared first");
    // cmd.exe child processes: the Splunk `process_cmd` macro expands to `Processes.process_name=cmd.exe`.
    let cmd =
        page.indicators.iter().find(|x| x.field.as_deref() == Some("Image") && x.value.contains("cmd.exe")).unwrap();
    assert!(cmd.corpus_by_source.get("splunk") > 10, "{:?}", cmd.corpus_by_source);
}

#[test]
fn event_pages_count_only_specific_rules() {
    if !common::corpus_available("event_pages_count_only_specific_rules") {
        return;
    }
    let c = catalog();
    let generic = c.generic_rules();
    assert!(generic.iter().any(|r| r.title.as_deref() == Some("Mimikatz Use")));
    let providers = c.providers();
    let sysmon = providers.iter().find(|p| p.provider == "Sysmon").unwrap();
    let security = providers.iter().find(|p| p.provider == "Security-Auditing").unwrap();
    assert!(security.events_with_rules < security.events, "{security:?}");
    assert!(sysmon.events_with_rules <= sysmon.events);
    let e = c.event_page("Sysmon", 1).unwrap();
    assert!(e.generic_rules >= 1);
    assert!(e.rules.iter().all(|r| !generic.contains(r)), "generic rules are listed apart");
    // Rules of other families are on the event pages too.
    let fams: std::collections::BTreeSet<&str> =
        e.rules.iter().filter_map(|r| c.by_key(r.key.as_deref()?)).map(|p| p.family.as_str()).collect();
    assert!(fams.contains("splunk") && fams.contains("sigma") && fams.contains("elastic"), "{fams:?}");
}

/// The bundled examples with the Elastic and Sentinel test rules (no corpus needed).
fn small_catalog() -> Catalog {
    let examples = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/rules"));
    let sources = vec![
        SourceSpec::new("sigma", vec![examples]),
        SourceSpec::new("team-a", vec![fixtures("elastic")]),
        SourceSpec::new("team-b", vec![fixtures("sentinel")]),
    ];
    Catalog::load(&sources, &CatalogOptions::default()).unwrap()
}

#[test]
fn attack_by_family_counts_rules_per_family_and_finds_disagreements() {
    use sigil_catalog::DisagreementOrder;
    let c = small_catalog();
    let fa = c.attack_by_family();
    assert_eq!(fa.families, ["sigma", "elastic", "sentinel"], "families that tag ATT&CK, in catalog order");
    // The MeshAgent technique: one rule of each family, through the sub-technique.
    let t1219 = fa.technique("T1219").unwrap();
    assert_eq!(t1219.counts, [1, 1, 1]);
    assert_eq!((t1219.label.as_str(), t1219.disagrees()), ("all families", false));
    assert_eq!(fa.technique("T1219.002").unwrap().counts, [1, 1, 1], "sub-techniques are counted too");
    // Brute force: a Sigma and a Sentinel rule, no Elastic one.
    let t1110 = fa.technique("T1110").unwrap();
    assert_eq!(t1110.counts, [2, 0, 1], "the burst correlation and its base rule");
    assert_eq!(t1110.label, "Sigma and Sentinel, not Elastic");
    assert_eq!(t1110.missing_from, ["elastic"]);
    // whoami: Sigma alone.
    assert_eq!(fa.technique("T1033").unwrap().label, "Sigma only");
    // The disagreements: parents only, never one all families cover; sortable and filterable.
    let all = fa.disagreements(&DisagreementOrder::Id, None);
    assert!(all.iter().all(|t| !t.id.contains('.') && t.disagrees()));
    assert!(all.iter().any(|t| t.id == "T1110") && all.iter().all(|t| t.id != "T1219"));
    let ids: Vec<&str> = all.iter().map(|t| t.id.as_str()).collect();
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    assert_eq!(ids, sorted);
    let by_rules = fa.disagreements(&DisagreementOrder::Rules, None);
    assert!(by_rules.windows(2).all(|w| w[0].rules >= w[1].rules));
    let missing_elastic = fa.disagreements(&DisagreementOrder::Families, Some("missing:elastic"));
    assert!(missing_elastic.iter().all(|t| t.missing_from.contains(&"elastic".to_string())));
    assert!(missing_elastic.windows(2).all(|w| w[0].covered_by.len() <= w[1].covered_by.len()));
    let sentinel = fa.disagreements(&DisagreementOrder::Family("sentinel".into()), Some("covered:sentinel"));
    assert_eq!(sentinel.iter().map(|t| t.id.as_str()).collect::<Vec<_>>(), ["T1110"]);
    assert_eq!(
        DisagreementOrder::from_name("elastic", &fa.families),
        Some(DisagreementOrder::Family("elastic".into()))
    );
    assert_eq!(DisagreementOrder::from_name("splunk", &fa.families), None, "a family not compared");
    // One family alone: nothing to compare.
    let sigma_only = Catalog::load(
        &[SourceSpec::new("s", vec![PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/rules"))])],
        &CatalogOptions::default(),
    )
    .unwrap();
    let fa = sigma_only.attack_by_family();
    assert!(!fa.compares());
    assert!(fa.disagreements(&DisagreementOrder::Id, None).is_empty());
}

#[test]
fn attack_disagreements_across_the_real_families() {
    if !common::corpus_available("attack_disagreements_across_the_real_families") {
        return;
    }
    let c = catalog();
    let fa = c.attack_by_family();
    for f in ["sigma", "splunk", "chronicle", "panther", "elastic", "sentinel"] {
        assert!(fa.families.iter().any(|x| x == f), "{f} tags ATT&CK: {:?}", fa.families);
    }
    let splunk_pages =
        c.pages().iter().filter(|p| p.family == "splunk" && p.techniques.iter().any(|t| t == "T1560.001"));
    let t = fa.technique("T1560.001").unwrap();
    assert_eq!(t.count_of(&fa.families, "splunk"), splunk_pages.count());
    assert_eq!(t.rules, t.counts.iter().sum::<usize>());
    let d = fa.disagreements(&sigil_catalog::DisagreementOrder::Families, None);
    assert!(!d.is_empty());
    assert_eq!(d[0].covered_by.len(), 1, "one family alone first");
    assert!(d[0].label.ends_with(" only"), "{}", d[0].label);
    eprintln!(
        "{} of {} parent techniques disagree",
        d.len(),
        fa.techniques.iter().filter(|t| !t.id.contains('.')).count()
    );
}
