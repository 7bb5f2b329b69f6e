//! The static export: every page written, every relative link resolves to a written file, nothing absolute.

// Helpers outside #[test] functions panic on failure too: this is test code.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use common::{example_catalog, text};
use sigil_web::{App, ExportOptions, write_site};

/// The JSON of an index file `search/NAME.js` (`SIGIL_LOADED("NAME",…);`).
fn index_file(dir: &Path, name: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.join(format!("search/{name}.js"))).unwrap();
    let prefix = format!("SIGIL_LOADED(\"{name}\",");
    let json = text.strip_prefix(&prefix).unwrap().trim_end().strip_suffix(");").unwrap();
    serde_json::from_str(json).unwrap()
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() { stack.push(p) } else { out.push(p) }
        }
    }
    out.sort();
    out
}

/// Decodes `%XX` escapes of a link target.
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

#[test]
fn exported_site_is_complete_and_self_contained() {
    let dir = tempfile::tempdir().unwrap();
    let app = App::new(example_catalog());
    let summary = write_site(&app, dir.path(), &ExportOptions { json: true, ..ExportOptions::default() }).unwrap();
    assert_eq!(summary.rule_pages, 10);
    let all = files(dir.path());
    assert_eq!(summary.files, all.len());
    let rel: BTreeSet<String> =
        all.iter().map(|p| p.strip_prefix(dir.path()).unwrap().to_string_lossy().replace('\\', "/")).collect();
    for want in [
        "index.html",
        "404.html",
        "attack.html",
        "attack/T1219.002.html",
        "attack/T1219.html",
        "events.html",
        "events/Sysmon.html",
        "events/Sysmon/1.html",
        "records/aws.cloudtrail.html",
        "indicators.html",
        "stats.html",
        "rules/6f0c3b1e-2a4d-4c8e-9b7a-1d2e3f405162.html",
        "api/rules/6f0c3b1e-2a4d-4c8e-9b7a-1d2e3f405162.json",
        "api/attack/navigator.json",
        "api/stats.json",
        "search/meta.js",
        "search/order.js",
        "search/t/0.js",
        "search/d/0.js",
        "static/style.css",
        "static/app.js",
        "static/static.js",
    ] {
        assert!(rel.contains(want), "{want} was not written");
    }
    assert!(rel.iter().any(|r| r.starts_with("search/i/")), "shared indicators for the browser");
    // Pages that would only say "no rule" are not written; per-query pages are answered in the browser.
    assert!(!rel.iter().any(|r| r.starts_with("indicators/") || r.ends_with(".yml")), "{rel:?}");
    assert!(!rel.contains("events/Sysmon/1/ParentImage.html"));
    assert!(!rel.iter().any(|r| r.starts_with("attack/") && r.matches('/').count() > 1), "one page per technique");
    let matrix = std::fs::read_to_string(dir.path().join("attack.html")).unwrap();
    assert!(matrix.contains("<a class=\"cell h1\" href=\"attack/T1219.html\""), "cells lead to their technique");
    for r in &rel {
        if let Some(t) = r.strip_prefix("attack/").and_then(|t| t.strip_suffix(".html")) {
            let id = t.rsplit('/').next().unwrap();
            assert!(!app.catalog().by_technique(id).is_empty(), "{r} has no rule");
        }
    }

    // Every link of every page resolves to a written file, relative to the page; nothing points at the
    // server's absolute paths or at other sites (except references and attack.mitre.org, opened externally).
    let href = regex::Regex::new(r#"(?:href|src)="([^"]*)""#).unwrap();
    let mut checked = 0;
    for page in all.iter().filter(|p| p.extension().is_some_and(|e| e == "html")) {
        let html = std::fs::read_to_string(page).unwrap();
        for cap in href.captures_iter(&html) {
            let target = cap[1].replace("&#38;", "&").replace("&amp;", "&");
            if target.starts_with("https://") || target.starts_with("http://") {
                assert!(!target.contains("127.0.0.1"), "{}: {target}", page.display());
                continue;
            }
            assert!(!target.starts_with('/'), "{}: absolute link {target}", page.display());
            let path = target.split(['?', '#']).next().unwrap();
            if path.is_empty() {
                continue;
            }
            let resolved = page.parent().unwrap().join(percent_decode(path));
            assert!(resolved.is_file(), "{}: broken link {target} ({})", page.display(), resolved.display());
            checked += 1;
        }
    }
    assert!(checked > 1000, "{checked} links checked");

    // The index files are JSON behind a loader call; the facet table covers every rule; the layer is 4.5.
    let meta = index_file(dir.path(), "meta");
    assert_eq!(meta["docs"], 10);
    assert_eq!(meta["facets"][0], "tactic");
    let levels: usize = meta["values"][2].as_array().unwrap().iter().map(|v| v[1].as_array().unwrap().len()).sum();
    assert_eq!(levels, 10, "each rule has one level");
    let docs = index_file(dir.path(), "d/0");
    assert!(docs[0]["u"].as_str().unwrap().starts_with("rules/"));
    for f in all.iter().filter(|p| p.extension().is_some_and(|e| e == "js")) {
        assert!(
            !std::fs::read_to_string(f).unwrap().contains("</script"),
            "{} could close a script element",
            f.display()
        );
    }
    let layer: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("api/attack/navigator.json")).unwrap()).unwrap();
    assert_eq!(layer["versions"]["layer"], "4.5");

    let rule = std::fs::read_to_string(dir.path().join("rules/6f0c3b1e-2a4d-4c8e-9b7a-1d2e3f405162.html")).unwrap();
    assert!(rule.contains("href=\"../attack/T1219.002.html\""));
    assert!(rule.contains("<script src=\"../static/static.js\" defer></script>"));
    assert!(text(&rule).contains("Detection rules › Sigma"));

    // Hostile text stays text in the static pages too.
    let hostile = std::fs::read_to_string(dir.path().join("rules/0badc0de-0000-4000-8000-000000000001.html")).unwrap();
    assert!(!hostile[hostile.find("<main").unwrap()..].contains("<script>"));

    // Exporting again over the previous export works (files are replaced).
    let again = write_site(&app, dir.path(), &ExportOptions::default()).unwrap();
    let json_files = rel.iter().filter(|r| r.starts_with("api/") && r.as_str() != "api/attack/navigator.json").count();
    assert_eq!(again.files, summary.files - json_files, "the same files, without the JSON API");
}

#[test]
fn exports_never_publish_the_machines_paths() {
    // Rules loaded from an absolute folder: no page, index or JSON file may carry that folder.
    let src = tempfile::tempdir().unwrap();
    let rules = src.path().join("secret-home").join("rules");
    std::fs::create_dir_all(rules.join("windows")).unwrap();
    let repo = common::repo();
    for name in ["proc_creation_win_meshagent_child_shell.yml", "win_security_admin_share_access.yml"] {
        std::fs::copy(repo.join("examples/rules").join(name), rules.join("windows").join(name)).unwrap();
    }
    let sources = sigil_catalog::SourceSpec::parse_all([format!("sigma={}", rules.display())]);
    let catalog = sigil_catalog::Catalog::load(&sources, &sigil_catalog::CatalogOptions::default()).unwrap();
    assert!(catalog.pages().iter().all(|p| p.rel_path.starts_with("rules/windows/")), "relative paths");
    let app = App::new(catalog);
    let out = tempfile::tempdir().unwrap();
    write_site(&app, out.path(), &ExportOptions { json: true, ..ExportOptions::default() }).unwrap();
    let machine = src.path().display().to_string();
    let mut seen = 0;
    for f in files(out.path()) {
        let body = std::fs::read(&f).unwrap();
        let text = String::from_utf8_lossy(&body);
        assert!(!text.contains(&machine) && !text.contains("secret-home"), "{} publishes a machine path", f.display());
        seen += 1;
    }
    assert!(seen > 20);
    // Words of the machine's path find nothing; words of the rules do.
    for w in ["secret", "home", "tmp"] {
        assert_eq!(app.catalog().search(&sigil_catalog::SearchQuery::new(w)).total, 0, "{w}");
    }
    assert_eq!(app.catalog().search(&sigil_catalog::SearchQuery::new("meshagent")).total, 1);
}
