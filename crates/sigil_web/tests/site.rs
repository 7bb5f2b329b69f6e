//! The static export: every page written, every relative link resolves to a written file, nothing absolute.

// Helpers outside #[test] functions panic on failure too: this is test code.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use common::{example_catalog, text};
use sigil_web::{App, ExportOptions, write_site};

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
    let summary = write_site(&app, dir.path(), &ExportOptions { json: true }).unwrap();
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
        "attack/command-and-control/T1219.html",
        "events.html",
        "events/Sysmon.html",
        "events/Sysmon/1.html",
        "events/Sysmon/1/ParentImage.html",
        "indicators.html",
        "stats.html",
        "rules/6f0c3b1e-2a4d-4c8e-9b7a-1d2e3f405162.html",
        "rules/6f0c3b1e-2a4d-4c8e-9b7a-1d2e3f405162.yml",
        "rules/sigma/proc_creation_win_meshagent_child_shell.html",
        "api/rules/6f0c3b1e-2a4d-4c8e-9b7a-1d2e3f405162.json",
        "api/attack/navigator.json",
        "api/stats.json",
        "search-index.js",
        "static/style.css",
        "static/app.js",
        "static/static.js",
    ] {
        assert!(rel.contains(want), "{want} was not written");
    }
    assert!(rel.iter().any(|r| r.starts_with("indicators/")), "pages for shared indicators");

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

    // The list is paged as files, the index is valid JSON behind its assignment, the layer is 4.5.
    let index = std::fs::read_to_string(dir.path().join("search-index.js")).unwrap();
    let json = index.strip_prefix("window.SIGIL_INDEX=").unwrap().trim_end().strip_suffix(';').unwrap();
    let v: serde_json::Value = serde_json::from_str(json).unwrap();
    assert_eq!(v["rules"].as_array().unwrap().len(), 10);
    assert_eq!(v["facets"][0], "tactic");
    assert!(!index.contains("</script"), "the index cannot close a script element");
    let layer: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("api/attack/navigator.json")).unwrap()).unwrap();
    assert_eq!(layer["versions"]["layer"], "4.5");

    let rule = std::fs::read_to_string(dir.path().join("rules/6f0c3b1e-2a4d-4c8e-9b7a-1d2e3f405162.html")).unwrap();
    assert!(rule.contains("href=\"../attack/T1219.002.html\""));
    assert!(rule.contains("<script src=\"../static/static.js\" defer></script>"));
    assert!(text(&rule).contains("Detection rules › Sigma"));
    let forward =
        std::fs::read_to_string(dir.path().join("rules/sigma/proc_creation_win_meshagent_child_shell.html")).unwrap();
    assert!(forward.contains("url=../../rules/6f0c3b1e-2a4d-4c8e-9b7a-1d2e3f405162.html"));

    // Hostile text stays text in the static pages too.
    let hostile = std::fs::read_to_string(dir.path().join("rules/0badc0de-0000-4000-8000-000000000001.html")).unwrap();
    assert!(!hostile[hostile.find("<main").unwrap()..].contains("<script>"));

    // Exporting again over the previous export works (files are replaced).
    let again = write_site(&app, dir.path(), &ExportOptions { json: false }).unwrap();
    assert!(again.files > 100);
}
