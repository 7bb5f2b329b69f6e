//! Rule pages, event pages, statistics and the heat map with rules of other families beside Sigma (the bundled
//! examples plus the Elastic and Sentinel rules written for `sigil_families`' tests; no corpus needed).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::OnceLock;

use common::{element, start, table_rows, text};
use sigil_catalog::{Catalog, CatalogOptions, SourceSpec};
use sigil_web::App;

const MESH: &str = "6f0c3b1e-2a4d-4c8e-9b7a-1d2e3f405162";

fn base() -> &'static str {
    static BASE: OnceLock<String> = OnceLock::new();
    BASE.get_or_init(|| {
        let fixtures = common::repo().join("crates/sigil_families/tests/fixtures");
        let sources = vec![
            SourceSpec::new("sigma", vec![common::repo().join("examples/rules")]),
            // Not named after their family: recognised from the files.
            SourceSpec::new("team-a", vec![fixtures.join("elastic")]),
            SourceSpec::new("team-b", vec![fixtures.join("sentinel")]),
        ];
        start(App::new(Catalog::load(&sources, &CatalogOptions::default()).unwrap()))
    })
}

fn page(path: &str) -> String {
    let r = reqwest::blocking::get(format!("{}{path}", base())).unwrap();
    assert_eq!(r.status(), 200, "GET {path}");
    r.text().unwrap()
}

#[test]
fn sigma_rule_page_lists_the_same_indicators_in_other_families() {
    let html = page(&format!("/rules/{MESH}"));
    let rows = table_rows(&html, "cross-family-table");
    assert_eq!(rows.len(), 3, "{rows:?}");
    // Most shared first: the two agent rules share all four indicators, the encoded-PowerShell rule two shells.
    let fams: Vec<&str> = rows.iter().take(2).map(|r| r[0].as_str()).collect();
    assert!(fams.contains(&"Elastic") && fams.contains(&"Sentinel"), "{fams:?}");
    assert!(
        rows.iter().take(2).all(|r| r[2].starts_with("4: ") && r[2].contains("ParentImage ends_with \\meshagent.exe"))
    );
    assert!(rows[2][2].starts_with("2: ") && rows[2][1] == "Encoded PowerShell Command", "{rows:?}");
    // Counts by source on the indicator row: this rule, one Elastic and one Sentinel rule.
    let t = text(element(&html, "table", "indicator-table").unwrap());
    assert!(t.contains("corpus 3 (sigma 1, team-a 1, team-b 1)"), "{t}");
}

#[test]
fn foreign_rule_page_shows_its_query_and_mapped_equivalents() {
    let html = page("/rules/0b6f7a8e-6b1f-4c39-9a53-0d1c1c0a9e11");
    assert!(text(element(&html, "div", "rule-head").unwrap()).contains("team-a"));
    assert!(html.contains(">Elastic</a>"), "the breadcrumb names the family");
    let q = text(element(&html, "pre", "query-text").unwrap());
    assert!(q.contains("process.parent.name : \"meshagent.exe\""), "{q}");
    let t = text(element(&html, "table", "indicator-table").unwrap());
    assert!(t.contains("mapped from process.parent.name = meshagent.exe"), "{t}");
    let cross = table_rows(&html, "cross-family-table");
    assert!(
        cross.iter().any(|r| r[0] == "Sigma" && r[1].contains("MeshAgent") && r[2].starts_with("4: ")),
        "{cross:?}"
    );
    assert!(cross.iter().all(|r| !r[2].contains('*')), "values shown as Sigma pages show them: {cross:?}");
    let ev = table_rows(&html, "event-table");
    assert!(ev.iter().any(|r| r[0] == "Sysmon" && r[1] == "Event ID 1"), "{ev:?}");
    // Outside the subset: the query and a note, no indicators.
    let html = page("/rules/9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d");
    let note = text(element(&html, "p", "query-note").unwrap());
    assert!(note.starts_with("indicators not extracted: `sequence` queries are not read"), "{note}");
    assert!(element(&html, "section", "indicators").is_none());
}

#[test]
fn stats_search_and_heat_map_by_family() {
    let html = page("/stats");
    let rows = table_rows(&html, "family-table");
    let elastic = rows.iter().find(|r| r[0] == "elastic").unwrap();
    assert_eq!(&elastic[1..4], ["3", "2", "1"], "{rows:?}");
    let sentinel = rows.iter().find(|r| r[0] == "sentinel").unwrap();
    assert_eq!(&sentinel[1..4], ["2", "1", "1"]);
    let html = page("/?family=sentinel");
    assert!(text(element(&html, "span", "result-count").unwrap()).contains("2 rules"));
    let all = page("/attack");
    assert!(text(element(&all, "p", "family-filter").unwrap()).contains("all families"));
    let only = page("/attack?family=sentinel");
    assert!(only.contains("<strong>sentinel</strong>"));
    let m = text(element(&only, "div", "matrix").unwrap());
    assert!(m.contains("T1110") || m.contains("Brute Force"));
}

#[test]
fn heat_map_marks_and_lists_where_families_disagree() {
    // The map marks a technique one family lacks, in text (not colour alone), and links to the list.
    let all = page("/attack");
    let m = element(&all, "div", "matrix").unwrap();
    assert!(m.contains("≠ 2/3 families"), "T1110: Sigma and Sentinel");
    assert!(m.contains("Sigma and Sentinel, not Elastic"), "the title and screen-reader text name the families");
    assert!(all.contains("href=\"/attack/disagreements\""));
    // The list: rules per family, sortable, filterable.
    let html = page("/attack/disagreements");
    let rows = table_rows(&html, "disagreement-table");
    let brute = rows.iter().find(|r| r[0].starts_with("T1110")).unwrap();
    assert_eq!(&brute[1..], ["2", "0", "1", "3", "Sigma and Sentinel, not Elastic"], "{rows:?}");
    assert!(rows.iter().all(|r| !r[0].starts_with("T1219 ")), "all three families cover T1219: {rows:?}");
    assert!(html.contains("aria-sort=\"ascending\""), "sorted by families by default");
    let by_rules = table_rows(&page("/attack/disagreements?sort=rules"), "disagreement-table");
    let n: Vec<usize> = by_rules.iter().map(|r| r[4].parse().unwrap()).collect();
    assert!(n.windows(2).all(|w| w[0] >= w[1]), "{n:?}");
    let only = table_rows(&page("/attack/disagreements?only=covered:sentinel"), "disagreement-table");
    assert_eq!(only.len(), 1, "{only:?}");
    let r = reqwest::blocking::get(format!("{}/attack/disagreements?sort=bogus", base())).unwrap();
    assert_eq!(r.status(), 400);
    // The technique page counts per family; the API answers the same.
    let t = page("/attack/T1110");
    assert_eq!(text(element(&t, "strong", "family-agreement").unwrap()), "Sigma and Sentinel, not Elastic");
    let fam = table_rows(&t, "family-technique-table");
    assert_eq!(fam, [vec!["Sigma", "2"], vec!["Elastic", "0"], vec!["Sentinel", "1"]]);
    let api: serde_json::Value =
        reqwest::blocking::get(format!("{}/api/attack/disagreements?only=missing:elastic", base()))
            .unwrap()
            .json()
            .unwrap();
    assert_eq!(api["families"], serde_json::json!(["sigma", "elastic", "sentinel"]));
    assert_eq!(api["only"], "missing:elastic");
    let t = api["techniques"].as_array().unwrap().iter().find(|t| t["id"] == "T1110").unwrap();
    assert_eq!(t["counts"], serde_json::json!([2, 0, 1]));
}

#[test]
fn query_text_is_highlighted_as_its_language() {
    let html = page("/rules/0b6f7a8e-6b1f-4c39-9a53-0d1c1c0a9e11");
    let q = element(&html, "pre", "query-text").unwrap();
    assert!(q.contains("<span class=\"k\">"), "{q}");
    assert!(q.contains("<span class=\"f\">process.parent.name</span>"), "{q}");
    assert!(q.contains("<span class=\"s\">&quot;meshagent.exe&quot;</span>"), "{q}");
}
