//! The whole SigmaHQ corpus (`shared/corpus/sigmahq/rules*`): every rule gets a page, corpus counts agree with an
//! independent brute-force count, indexes, search and statistics agree with the pages.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers: a panic is the test failing")]

mod common;

use std::collections::{BTreeMap, BTreeSet, HashSet};

use sigil_catalog::{Facet, Kind, RuleKind, SearchQuery, markdown};
use sigil_rule::{Document, SearchBody, ValueKind, modifiers::Modifier};

#[test]
fn every_rule_gets_a_page() {
    if !common::corpus_available("every_rule_gets_a_page") {
        return;
    }
    let catalog = common::sigmahq();
    let files: usize = common::sigmahq_sources().iter().flat_map(|s| &s.paths).map(|p| walkdir(p).len()).sum();
    assert!(files > 3700, "{files}");
    assert!(catalog.failed_files().is_empty(), "{:?}", catalog.failed_files());
    assert_eq!(catalog.len(), files, "one page per rule file");
    let names: Vec<&str> = catalog.sources().iter().map(|s| s.name.as_str()).collect();
    assert!(names.contains(&"rules") && names.contains(&"rules-threat-hunting"), "{names:?}");

    let mut keys = HashSet::new();
    for p in catalog.pages() {
        assert!(keys.insert(p.key.as_str()), "duplicate key {}", p.key);
        assert_eq!(p.kind, RuleKind::Rule);
        assert!(!p.title.is_empty() && p.id.is_some(), "{}", p.path);
        assert!(p.stages.len() >= 2, "{}: {:?}", p.path, p.stages);
        assert_eq!(p.stages[0].name, "condition");
        assert!(p.stages.iter().enumerate().all(|(i, s)| s.stage == i));
        assert!(!p.indicators.is_empty() || p.stages.iter().skip(1).all(|s| s.items.is_empty()), "{}", p.path);
        assert!(p.yaml.contains("detection:"));
        // Every tag of the attack namespace is either a row, a group/software/data source, or flagged.
        let attack_tags = p.tags.iter().filter(|t| t.starts_with("attack.")).count();
        let accounted = p.attack.len() + p.attack.iter().map(|r| r.techniques.len()).sum::<usize>();
        assert!(
            attack_tags == 0
                || accounted > 0
                || !p.attack_other.unknown.is_empty()
                || !p.attack_other.retired.is_empty()
                || !p.attack_other.groups.is_empty()
                || !p.attack_other.software.is_empty()
                || !p.attack_other.data_sources.is_empty(),
            "{}",
            p.path
        );
        // Windows process_creation rules that only use Sysmon 1 fields are covered.
        if p.logsource.category.as_deref() == Some("process_creation")
            && p.logsource.product.as_deref() == Some("windows")
        {
            assert!(
                !p.events.is_empty() || !p.coverage.missing_fields.is_empty(),
                "{}: no event and no missing field: {:?}",
                p.path,
                p.coverage
            );
        }
        let md = markdown::page_markdown(&catalog.page_view(p));
        assert!(md.contains("## MITRE ATT&CK coverage") && md.contains("## Stages and Predicates"));
        let json = serde_json::to_value(p).unwrap();
        assert_eq!(json["title"], p.title.as_str());
    }
}

fn walkdir(p: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(p) {
        for e in entries.flatten() {
            let path = e.path();
            if path.is_dir() {
                out.extend(walkdir(&path));
            } else if path.extension().is_some_and(|x| x == "yml" || x == "yaml") {
                out.push(path);
            }
        }
    }
    out
}

/// An indicator in a brute-force form computed straight from the rule model: the field and a glob of the value
/// (`*` for the wildcards the position modifiers add), lower-cased. Only simple items take part: string values,
/// integer and boolean values (compared as their text, as the catalog does), modifiers among contains/startswith/endswith/all, no escaped wildcards.
fn simple_keys(doc: &Document) -> BTreeSet<(String, String)> {
    let Document::Rule(rule) = doc else { return BTreeSet::new() };
    let mut out = BTreeSet::new();
    for search in &rule.detection.searches {
        let items: Vec<_> = match &search.body {
            SearchBody::AllOf(items) => items.iter().collect(),
            SearchBody::AnyOf(groups) => groups.iter().flatten().collect(),
            SearchBody::Keywords(_) => continue,
        };
        for item in items {
            let Some(field) = &item.field else { continue };
            let allowed = [Modifier::Contains, Modifier::StartsWith, Modifier::EndsWith, Modifier::All];
            if !item.modifiers.iter().all(|m| allowed.contains(m)) {
                continue;
            }
            for v in &item.values {
                let raw = match &v.kind {
                    ValueKind::String(s) => s.raw.clone(),
                    ValueKind::Int(i) => i.to_string(),
                    ValueKind::Bool(b) => b.to_string(),
                    _ => continue,
                };
                let Some(glob) = brute_glob(&raw, &item.modifiers) else { continue };
                out.insert((field.clone(), glob));
            }
        }
    }
    out
}

/// `None` for values this simple model does not handle (`?`, escaped `*`, inner `*`).
fn brute_glob(raw: &str, mods: &[Modifier]) -> Option<String> {
    if raw.contains('?') || raw.contains("\\*") {
        return None;
    }
    let lead = raw.starts_with('*') || mods.contains(&Modifier::Contains) || mods.contains(&Modifier::EndsWith);
    let trail = raw.ends_with('*') || mods.contains(&Modifier::Contains) || mods.contains(&Modifier::StartsWith);
    let core = raw.trim_matches('*');
    if core.is_empty() || core.contains('*') {
        return None;
    }
    let core = core.replace("\\\\", "\\").to_lowercase();
    Some(format!("{}{core}{}", if lead { "*" } else { "" }, if trail { "*" } else { "" }))
}

fn kind_glob(kind: Kind, normalized: &str) -> Option<String> {
    let core = normalized.replace("\\\\", "\\");
    Some(match kind {
        Kind::Equals => core,
        Kind::StartsWith => format!("{core}*"),
        Kind::EndsWith => format!("*{core}"),
        Kind::Match => format!("*{core}*"),
        _ => return None,
    })
}

#[test]
fn corpus_counts_match_a_brute_force_count() {
    if !common::corpus_available("corpus_counts_match_a_brute_force_count") {
        return;
    }
    let catalog = common::sigmahq();
    // Parse the corpus again, independently of the catalog, and index each rule's simple indicators by path.
    let paths: Vec<std::path::PathBuf> = common::sigmahq_sources().iter().flat_map(|s| s.paths.clone()).collect();
    let set = sigil_rule::load(&paths, &sigil_rule::LoadOptions::default());
    let rules: Vec<(String, BTreeSet<(String, String)>)> =
        set.documents().map(|(f, d)| (f.display_path.clone(), simple_keys(d))).collect();
    assert_eq!(rules.len(), catalog.len());
    let by_path: BTreeMap<&str, usize> = rules.iter().enumerate().map(|(i, (p, _))| (p.as_str(), i)).collect();
    let source_of: BTreeMap<&str, &str> =
        catalog.pages().iter().map(|p| (p.path.as_str(), p.source.as_str())).collect();

    let mut checked = 0;
    for (n, page) in catalog.pages().iter().enumerate() {
        // Every 5th rule, plus the seed rules, keeps the quadratic pass quick in debug builds.
        let seed = page.id.as_deref().is_some_and(|id| id.starts_with("74a2b202") || id.starts_with("aa3168fb"));
        if n % 5 != 0 && !seed {
            continue;
        }
        let me = by_path[page.path.as_str()];
        for ind in &page.indicators {
            let simple = ind.field.is_some()
                && ind.notes.is_empty()
                && ind.modifiers.iter().all(|m| ["contains", "startswith", "endswith", "all"].contains(&m.as_str()));
            let Some(glob) = kind_glob(ind.kind, &ind.key.value).filter(|_| simple) else { continue };
            if brute_glob(&ind.value, &ind.modifiers.iter().filter_map(|m| Modifier::from_name(m)).collect::<Vec<_>>())
                .is_none()
            {
                continue;
            }
            let key = (ind.field.clone().unwrap(), glob);
            let mut by_source: BTreeMap<String, usize> = BTreeMap::new();
            let brute = rules
                .iter()
                .enumerate()
                .filter(|(i, (_, keys))| *i != me && keys.contains(&key))
                .inspect(|(_, (path, _))| {
                    *by_source.entry(source_of[path.as_str()].to_string()).or_default() += 1;
                })
                .count();
            assert_eq!(ind.corpus_count, brute, "{}: {:?} {}", page.path, ind.field, ind.value);
            let ours: BTreeMap<String, usize> = ind.corpus_by_source.0.iter().cloned().collect();
            assert_eq!(ours, by_source, "{}: {:?} {}", page.path, ind.field, ind.value);
            checked += 1;
        }
    }
    assert!(checked > 3000, "only {checked} indicators checked");
}

#[test]
fn indexes_agree_with_pages() {
    if !common::corpus_available("indexes_agree_with_pages") {
        return;
    }
    let catalog = common::sigmahq();
    let mesh = catalog.by_id("74a2b202-73e0-4693-9A3A-9d36146d0775");
    assert_eq!(mesh.len(), 1);
    assert_eq!(catalog.by_key(&mesh[0].key).unwrap().title, mesh[0].title);
    assert!(catalog.by_file_stem("proc_creation_win_remote_access_tools_meshagent_exec").len() == 1);
    let t = catalog.by_technique("t1219.002");
    assert!(t.iter().any(|p| p.key == mesh[0].key));
    assert!(catalog.by_technique("T1219").len() >= t.len());
    assert!(catalog.by_tactic("Command & Control").iter().any(|p| p.key == mesh[0].key));
    assert!(catalog.by_event("Sysmon", 1).iter().any(|p| p.key == mesh[0].key));
    assert!(catalog.by_event("Microsoft-Windows-Security-Auditing", 4688).iter().any(|p| p.key == mesh[0].key));
    for ind in &mesh[0].indicators {
        assert_eq!(catalog.by_indicator(&ind.key).len(), ind.corpus_count + 1);
    }
    // Resolution by id, title, path and file name.
    for q in [
        "74a2b202-73e0-4693-9a3a-9d36146d0775",
        "Remote Access Tool - MeshAgent Command Execution via MeshCentral",
        "remote access tool - meshagent command execution via meshcentral",
        "windows/process_creation/proc_creation_win_remote_access_tools_meshagent_exec.yml",
        "proc_creation_win_remote_access_tools_meshagent_exec.yml",
        "proc_creation_win_remote_access_tools_meshagent_exec",
    ] {
        let (found, by) = catalog.resolve(q);
        assert_eq!(found.len(), 1, "{q}: {by:?}");
        assert_eq!(catalog.page(found[0]).unwrap().key, mesh[0].key, "{q}");
    }
    assert!(catalog.resolve("no such rule anywhere 123").0.is_empty());

    // Events side: the rules on Sysmon 1 are exactly the pages listing it, and field counts are bounded by them.
    let ev = catalog.event_page("Sysmon", 1).unwrap();
    // Rules that search every event are listed apart from the count (they are not specific to the event).
    assert_eq!(ev.rule_count + ev.generic_rules, catalog.by_event("Sysmon", 1).len());
    let image = ev.fields.iter().find(|f| f.name == "Image").unwrap();
    assert!(image.rules > 500 && image.rules <= ev.rule_count);
    let sec = catalog.event_page("Security-Auditing", 4688).unwrap();
    let new_process = sec.fields.iter().find(|f| f.name == "NewProcessName").unwrap();
    assert!(new_process.rules > 100, "Image maps to NewProcessName on 4688: {new_process:?}");
    assert!(catalog.providers().iter().any(|p| p.provider == "Sysmon" && p.rules > 1000));
}

#[test]
fn search_and_facets() {
    if !common::corpus_available("search_and_facets") {
        return;
    }
    let catalog = common::sigmahq();
    let r = catalog.search(&SearchQuery::new("meshagent"));
    assert!(r.total >= 2);
    assert!(r.hits.iter().any(|h| h.title.contains("MeshAgent Command Execution")));
    let level = r.facets.iter().find(|f| f.facet == Facet::Level).unwrap();
    assert_eq!(level.values.iter().map(|v| v.count).sum::<usize>(), r.total);

    let all = catalog.search(&SearchQuery::default().page(0, 10));
    assert_eq!(all.total, catalog.len());
    assert_eq!(all.hits.len(), 10);

    let q = SearchQuery::parse("powershell level:high tactic:execution");
    let r = catalog.search(&q);
    assert!(r.total > 0);
    for h in &r.hits {
        let p = catalog.page(h.index).unwrap();
        assert_eq!(p.level.as_deref(), Some("high"));
        assert!(p.tactics.iter().any(|t| t == "execution"));
    }
    // Disjunctive counts: the level facet counts other levels too, the selected one equals the total.
    let level = r.facets.iter().find(|f| f.facet == Facet::Level).unwrap();
    let high = level.values.iter().find(|v| v.value == "high").unwrap();
    assert!(high.selected && high.count == r.total);
    assert!(level.values.iter().any(|v| v.value == "medium" && v.count > 0));

    let regression = catalog.search(&SearchQuery::default().filter(Facet::Regression, "yes"));
    assert!(regression.total >= 200, "{}", regression.total);
    let excluded = catalog.search(&SearchQuery::new("meshagent -renamed"));
    assert!(excluded.total < catalog.search(&SearchQuery::new("meshagent")).total);
}

#[test]
fn stats_add_up() {
    if !common::corpus_available("stats_add_up") {
        return;
    }
    let catalog = common::sigmahq();
    let s = catalog.stats();
    assert_eq!(s.pages, catalog.len());
    assert_eq!(s.by_level.iter().map(|c| c.count).sum::<usize>(), s.pages);
    assert_eq!(s.by_status.iter().map(|c| c.count).sum::<usize>(), s.pages);
    assert_eq!(s.by_source.iter().map(|c| c.count).sum::<usize>(), s.pages);
    assert_eq!(s.by_logsource.iter().map(|c| c.count).sum::<usize>(), s.pages);
    assert_eq!(s.by_tactic.len(), 15);
    let c2 = s.by_tactic.iter().find(|c| c.value == "command-and-control").unwrap();
    assert_eq!(c2.label, "Command & Control");
    assert_eq!(c2.count, catalog.by_tactic("command-and-control").len());
    assert!(s.top_indicators.windows(2).all(|w| w[0].rules >= w[1].rules));
    let top = &s.top_indicators[0];
    assert_eq!(top.rules, top.by_source.0.iter().map(|(_, n)| n).sum::<usize>());
    for n in &s.without_event {
        let p = catalog.by_key(n.rule.key.as_deref().unwrap()).unwrap();
        assert!(p.events.is_empty());
    }
    for l in &s.without_attack {
        let p = catalog.by_key(l.key.as_deref().unwrap()).unwrap();
        assert!(!p.tags.iter().any(|t| t.starts_with("attack.")));
    }
}
