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
