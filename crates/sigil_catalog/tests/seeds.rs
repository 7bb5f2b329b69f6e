//! The two seed pages in `shared/seeds/*.txt` (catalog pages the product must reproduce), compared with the pages
//! the catalog builds from the SigmaHQ corpus: ATT&CK rows, event coverage, stages, indicator rows, YAML.
//!
//! The seed files are text dumps of rendered pages: tables as `| a | b |` lines (indicator rows as `Field | kind |`
//! with the values cell lost), YAML and stage text without indentation, and stage 0's text run into the next
//! stage's heading. The parser below reads exactly that; the indicator values are taken from the seed's stages.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers: a panic is the test failing")]

mod common;

use std::collections::BTreeSet;

use sigil_catalog::{Catalog, RulePage};

/// What a seed page shows.
#[derive(Debug, Default)]
struct Seed {
    title: String,
    description: String,
    attack: Vec<(String, String)>,
    events: Vec<(String, String, String)>,
    yaml: Vec<String>,
    /// (number, name, non-empty trimmed lines)
    stages: Vec<(usize, String, Vec<String>)>,
    /// (field, kind) rows of the indicator table.
    indicator_rows: Vec<(String, String)>,
}

fn cells(line: &str) -> Vec<String> {
    line.trim().trim_matches('|').split('|').map(|c| c.trim().to_string()).collect()
}

/// A line as the seed's HTML rendering shows it: runs of whitespace collapsed, no indentation.
fn squash(line: &str) -> String {
    line.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn section<'a>(lines: &'a [&'a str], start: &str, end: &str) -> &'a [&'a str] {
    let from = lines.iter().position(|l| l.trim() == start).unwrap_or_else(|| panic!("seed has no '{start}'"));
    let to = lines.iter().skip(from + 1).position(|l| l.trim() == end).map_or(lines.len(), |n| from + 1 + n);
    &lines[from + 1..to]
}

fn table_rows(lines: &[&str]) -> Vec<Vec<String>> {
    lines.iter().filter(|l| l.starts_with('|') && !l.starts_with("|---")).skip(1).map(|l| cells(l)).collect()
}

fn parse_seed(text: &str) -> Seed {
    let lines: Vec<&str> = text.lines().collect();
    let mut seed = Seed { title: lines[1].trim().into(), description: lines[2].trim().into(), ..Seed::default() };
    for row in table_rows(section(&lines, "MITRE ATT&CK coverage", "Event coverage")) {
        seed.attack.push((row[0].clone(), row[1].clone()));
    }
    for row in table_rows(section(&lines, "Event coverage", "Rule body yaml")) {
        seed.events.push((row[0].clone(), row[1].clone(), row[2].clone()));
    }
    seed.yaml = section(&lines, "Rule body yaml", "Stages and Predicates")
        .iter()
        .map(|l| squash(l))
        .filter(|l| !l.is_empty())
        .collect();

    // Stage headings may follow the previous stage's text on the same line: split them out first.
    let body = section(&lines, "Stages and Predicates", "Indicators").join("\n");
    let mut marks: Vec<(usize, usize, usize)> = Vec::new(); // (start of "Stage", start of name, number)
    let mut at = 0;
    while let Some(i) = body[at..].find("Stage ") {
        let start = at + i;
        let rest = &body[start + 6..];
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        if !digits.is_empty() && rest[digits.len()..].starts_with(": ") {
            marks.push((start, start + 6 + digits.len() + 2, digits.parse().unwrap()));
        }
        at = start + 6;
    }
    for (k, &(_, name_at, number)) in marks.iter().enumerate() {
        let end = marks.get(k + 1).map_or(body.len(), |m| m.0);
        let chunk = &body[name_at..end];
        let (name, text) = chunk.split_once('\n').unwrap_or((chunk, ""));
        let text = text.lines().map(|l| l.trim().to_string()).filter(|l| !l.is_empty()).collect();
        seed.stages.push((number, name.trim().to_string(), text));
    }

    let indicators = &lines[lines.iter().position(|l| l.trim() == "Indicators").unwrap() + 1..];
    for l in indicators {
        let c = cells(l);
        if l.starts_with('|') || c.len() != 2 || c[0].is_empty() || c[1].is_empty() {
            continue;
        }
        seed.indicator_rows.push((c[0].clone(), c[1].clone()));
    }
    seed
}

/// `'\cmd.exe'` → `\cmd.exe` (YAML single quotes, `''` for a quote).
fn unquote(v: &str) -> String {
    let v = v.trim();
    match v.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')) {
        Some(inner) => inner.replace("''", "'"),
        None => v.to_string(),
    }
}

/// The kind the seed pages use for a modifier chain.
fn seed_kind(modifiers: &[&str]) -> &'static str {
    if modifiers.contains(&"contains") {
        "match"
    } else if modifiers.contains(&"endswith") {
        "ends_with"
    } else if modifiers.contains(&"startswith") {
        "starts_with"
    } else {
        "equals"
    }
}

/// (field, kind, value) triples read from the seed's stage texts (`Field|mod: 'v'` or `Field|mod:` + `- 'v'`).
fn seed_indicators(seed: &Seed) -> BTreeSet<(String, String, String)> {
    let mut out = BTreeSet::new();
    for (number, _, lines) in &seed.stages {
        if *number == 0 {
            continue;
        }
        let mut current: Option<(String, &'static str)> = None;
        for line in lines.iter().skip(1) {
            if let Some(v) = line.strip_prefix("- ") {
                let (field, kind) = current.clone().expect("list item before a key");
                out.insert((field, kind.to_string(), unquote(v)));
                continue;
            }
            let (key, value) = line.split_once(':').expect("key: value");
            let mut parts = key.split('|');
            let field = parts.next().unwrap().to_string();
            let mods: Vec<&str> = parts.collect();
            let kind = seed_kind(&mods);
            if value.trim().is_empty() {
                current = Some((field, kind));
            } else {
                out.insert((field, kind.to_string(), unquote(value)));
            }
        }
    }
    out
}

fn check(file: &str, id: &str, catalog: &Catalog) {
    let text = std::fs::read_to_string(common::shared().join("seeds").join(file)).unwrap();
    let seed = parse_seed(&text);
    let pages = catalog.by_id(id);
    assert_eq!(pages.len(), 1, "{id}");
    let page: &RulePage = pages[0];

    assert_eq!(page.title, seed.title);
    let description = page.description.as_deref().unwrap().split_whitespace().collect::<Vec<_>>().join(" ");
    assert_eq!(description, seed.description);

    let attack: Vec<(String, String)> = page
        .attack
        .iter()
        .map(|r| {
            (
                r.tactic.clone(),
                r.techniques.iter().map(|t| format!("{} {}", t.id, t.name)).collect::<Vec<_>>().join(", "),
            )
        })
        .collect();
    assert_eq!(attack, seed.attack, "{file}: ATT&CK rows");

    let events: Vec<(String, String, String)> =
        page.events.iter().map(|e| (e.provider.clone(), format!("Event ID {}", e.event_id), e.title.clone())).collect();
    assert_eq!(events, seed.events, "{file}: event coverage");

    let yaml: Vec<String> = page.yaml.lines().map(squash).filter(|l| !l.is_empty()).collect();
    assert_eq!(yaml, seed.yaml, "{file}: rule body");

    let stages: Vec<(usize, String, Vec<String>)> = page
        .stages
        .iter()
        .map(|s| {
            (s.stage, s.name.clone(), s.text.lines().map(|l| l.trim().to_string()).filter(|l| !l.is_empty()).collect())
        })
        .collect();
    assert_eq!(stages, seed.stages, "{file}: stages");

    // The indicator table: the (field, kind) rows in order, and the values the seed's stages hold.
    let rows: Vec<(String, String)> =
        catalog.page_view(page).indicators.iter().map(|g| (g.field.clone(), g.kind.to_string())).collect();
    assert_eq!(rows, seed.indicator_rows, "{file}: indicator rows");
    let expected = seed_indicators(&seed);
    let seed_pairs: BTreeSet<(String, String)> = expected.iter().map(|(f, k, _)| (f.clone(), k.clone())).collect();
    assert_eq!(seed_pairs, seed.indicator_rows.iter().cloned().collect(), "{file}: the seed is self-consistent");
    let ours: BTreeSet<(String, String, String)> = page
        .indicators
        .iter()
        .map(|i| (i.field.clone().unwrap(), i.kind.as_str().to_string(), i.value.clone()))
        .collect();
    assert_eq!(ours, expected, "{file}: indicator values");
    assert_eq!(page.indicators.len(), expected.len(), "{file}: one row per (field, kind, value)");

    // The JSON keys tools rely on.
    let json = serde_json::to_value(page).unwrap();
    let keys: Vec<&str> = json.as_object().unwrap().keys().map(String::as_str).take(19).collect();
    assert_eq!(
        keys,
        [
            "id",
            "title",
            "status",
            "level",
            "description",
            "author",
            "date",
            "modified",
            "references",
            "falsepositives",
            "tags",
            "logsource",
            "source",
            "path",
            "yaml",
            "attack",
            "events",
            "stages",
            "indicators"
        ]
    );
    assert_eq!(json["attack"][0]["techniques"][0]["id"], "T1219.002");
    assert_eq!(json["events"][0]["event_id"], 1);
    assert!(json["indicators"][0]["corpus_by_source"].is_object());
}

#[test]
fn meshagent_seed_page() {
    if !common::corpus_available("meshagent_seed_page") {
        return;
    }
    check("meshagent-command-execution.txt", "74a2b202-73e0-4693-9a3a-9d36146d0775", common::sigmahq());
}

#[test]
fn action1_seed_page() {
    if !common::corpus_available("action1_seed_page") {
        return;
    }
    check("action1-remote-sessions.txt", "aa3168fb-d594-4f93-a92d-7a9ba675b766", common::sigmahq());
}

#[test]
fn seed_indicator_counts_are_shown_by_source() {
    if !common::corpus_available("seed_indicator_counts_are_shown_by_source") {
        return;
    }
    let catalog = common::sigmahq();
    let page = catalog.by_id("74a2b202-73e0-4693-9a3a-9d36146d0775")[0];
    // `\cmd.exe` as a process image suffix is among the most common indicators of SigmaHQ.
    let cmd = page.indicators.iter().find(|i| i.value == r"\cmd.exe").unwrap();
    assert!(cmd.corpus_count > 50, "{cmd:?}");
    assert_eq!(cmd.corpus_by_source.0.iter().map(|(_, n)| n).sum::<usize>(), cmd.corpus_count);
    // Pages count the rules with the indicator, this one included, as the seeds do.
    let view = catalog.page_view(page);
    let shown = view.indicators.iter().flat_map(|g| &g.values).find(|v| v.value == r"\cmd.exe").unwrap();
    assert_eq!(shown.rules, cmd.corpus_count + 1);
    assert!(shown.label.starts_with(&format!("corpus {} (rules ", cmd.corpus_count + 1)), "{}", shown.label);
    // The renamed-MeshAgent rule uses OriginalFileName, so Sysmon only (sigma-notes §3.4).
    let renamed = catalog
        .pages()
        .iter()
        .find(|p| p.path.ends_with("proc_creation_win_remote_access_tools_renamed_meshagent_execution.yml"))
        .unwrap();
    assert_eq!(renamed.events.iter().map(|e| (e.provider.as_str(), e.event_id)).collect::<Vec<_>>(), [("Sysmon", 1)]);
}
