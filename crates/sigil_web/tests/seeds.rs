//! The two seed pages (text captures of the static catalog site the product reproduces, in
//! `../shared/seeds`) against the pages the server renders for the same rules from the SigmaHQ corpus: title,
//! ATT&CK coverage, event coverage, stages and the indicator table's field/kind rows.
//!
//! Skipped when the corpus is absent, unless SIGIL_REQUIRE_CORPUS=1.

// Helpers outside #[test] functions panic on failure too: this is test code.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{element, shared, sigmahq_catalog, start, table_rows, text};
use sigil_web::App;

/// What a seed page shows.
#[derive(Debug)]
struct Seed {
    title: String,
    attack: Vec<Vec<String>>,
    events: Vec<Vec<String>>,
    /// (number, name, body lines trimmed)
    stages: Vec<(usize, String, Vec<String>)>,
    indicators: Vec<(String, String)>,
}

/// Rows of the markdown-like table following `heading` in a seed.
fn seed_table(lines: &[&str], heading: &str) -> Vec<Vec<String>> {
    let at = lines.iter().position(|l| l.trim() == heading).unwrap_or_else(|| panic!("no {heading}"));
    lines[at + 1..]
        .iter()
        .skip(2) // header and separator
        .take_while(|l| l.starts_with('|'))
        .map(|l| l.trim().trim_matches('|').split('|').map(|c| c.trim().to_string()).collect())
        .collect()
}

fn parse_seed(raw: &str) -> Seed {
    let lines: Vec<&str> = raw.lines().collect();
    assert_eq!(lines[0], "Detection rules › Sigma");
    let stages_at = raw.find("Stages and Predicates\n").unwrap() + "Stages and Predicates\n".len();
    let stages_end = raw.find("\nIndicators\n").unwrap();
    let stage_text = &raw[stages_at..stages_end];
    let head = regex::Regex::new(r"Stage (\d+): (\S+)\n").unwrap();
    let heads: Vec<(usize, usize, usize, String)> = head
        .captures_iter(stage_text)
        .map(|c| {
            let m = c.get(0).unwrap();
            (m.start(), m.end(), c[1].parse().unwrap(), c[2].to_string())
        })
        .collect();
    let stages = heads
        .iter()
        .enumerate()
        .map(|(i, (_, end, n, name))| {
            let stop = heads.get(i + 1).map_or(stage_text.len(), |h| h.0);
            let body = stage_text[*end..stop].lines().map(|l| l.trim().to_string()).filter(|l| !l.is_empty()).collect();
            (*n, name.clone(), body)
        })
        .collect();
    let ind_at = lines.iter().position(|l| l.trim() == "| Field | Kind | Values |").unwrap();
    let indicators = lines[ind_at + 2..]
        .iter()
        .filter_map(|l| {
            let parts: Vec<&str> = l.split('|').map(str::trim).collect();
            (parts.len() == 3 && !parts[0].is_empty()).then(|| (parts[0].to_string(), parts[1].to_string()))
        })
        .collect();
    Seed {
        title: lines[1].to_string(),
        attack: seed_table(&lines, "MITRE ATT&CK coverage"),
        events: seed_table(&lines, "Event coverage"),
        stages,
        indicators,
    }
}

fn served_stages(html: &str) -> Vec<(usize, String, Vec<String>)> {
    let section = element(html, "section", "stages").unwrap();
    let re = regex::Regex::new(r#"(?s)<div class="stage" id="stage-(\d+)">.*?<span class="name">([^<]*)</span>.*?<pre class="code"><code>(.*?)</code></pre>"#).unwrap();
    re.captures_iter(section)
        .map(|c| {
            let body = text_lines(&c[3]);
            (c[1].parse().unwrap(), text(&c[2]), body)
        })
        .collect()
}

/// Lines of highlighted code as text (spans removed, entities decoded), trimmed, blank lines dropped.
fn text_lines(html: &str) -> Vec<String> {
    let tags = regex::Regex::new(r"<[^>]*>").unwrap();
    html.lines()
        .map(|l| text(&tags.replace_all(l, "")))
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn seed_pages_match_the_served_pages() {
    let Some(catalog) = sigmahq_catalog() else { return };
    assert!(catalog.len() > 3000, "{} rules", catalog.len());
    let base = start(App::new(catalog));
    let client = reqwest::blocking::Client::new();
    for (seed_file, id) in [
        ("meshagent-command-execution.txt", "74a2b202-73e0-4693-9a3a-9d36146d0775"),
        ("action1-remote-sessions.txt", "aa3168fb-d594-4f93-a92d-7a9ba675b766"),
    ] {
        let raw = std::fs::read_to_string(shared().join("seeds").join(seed_file)).unwrap();
        let seed = parse_seed(&raw);
        let r = client.get(format!("{base}/rules/{id}")).send().unwrap();
        assert_eq!(r.status(), 200, "{seed_file}");
        let html = r.text().unwrap();

        assert!(text(&html).contains("Detection rules › Sigma"), "{seed_file}: breadcrumb");
        assert_eq!(text(element(&html, "h1", "rule-title").unwrap()), seed.title, "{seed_file}: title");
        assert_eq!(table_rows(&html, "attack-table"), seed.attack, "{seed_file}: ATT&CK coverage");
        let events: Vec<Vec<String>> = table_rows(&html, "event-table")
            .into_iter()
            .map(|mut r| {
                // The title cell may carry a field-mapping note under the title.
                if let Some(t) = r.get_mut(2)
                    && let Some(cut) = t.find(" fields: ")
                {
                    t.truncate(cut);
                }
                r
            })
            .collect();
        assert_eq!(events, seed.events, "{seed_file}: event coverage");
        let stages = served_stages(&html);
        assert_eq!(stages.len(), seed.stages.len(), "{seed_file}: stage count");
        for (served, want) in stages.iter().zip(&seed.stages) {
            assert_eq!((served.0, &served.1), (want.0, &want.1), "{seed_file}: stage heading");
            assert_eq!(served.2, want.2, "{seed_file}: stage {} body", want.0);
        }
        let indicators: Vec<(String, String)> =
            table_rows(&html, "indicator-table").into_iter().map(|r| (r[0].clone(), r[1].clone())).collect();
        assert_eq!(indicators, seed.indicators, "{seed_file}: indicator rows");
        // The seeds' table counts the rules per value ("corpus N (sigma …)", this rule included): the
        // ParentImage ends_with \cmd.exe of Action1 is common.
        if seed_file.starts_with("action1") {
            let rows = table_rows(&html, "indicator-table");
            let parent = rows.iter().find(|r| r[0] == "ParentImage").unwrap();
            let words: Vec<&str> = parent[2].split_whitespace().skip_while(|w| *w != "\\cmd.exe").collect();
            assert_eq!(words.get(1), Some(&"corpus"), "{parent:?}");
            let count: usize = words[2].parse().unwrap();
            assert!(words[3].starts_with("(sigma"), "the split by source is visible: {parent:?}");
            assert!(count > 5, "\\cmd.exe as a parent is shared by many rules: {parent:?}");
        }
        // The page by file stem is the same page.
        let stem = if seed_file.starts_with("mesh") {
            "proc_creation_win_remote_access_tools_meshagent_exec"
        } else {
            "proc_creation_win_remote_access_tools_action1_code_exec_and_remote_sessions"
        };
        let by_stem = client.get(format!("{base}/rules/sigma/{stem}")).send().unwrap();
        if by_stem.status() == 200 {
            assert_eq!(text(element(&by_stem.text().unwrap(), "h1", "rule-title").unwrap()), seed.title);
        } else {
            // File names move upstream; the id is the stable address. Show which stem the corpus has.
            let v: serde_json::Value = client.get(format!("{base}/api/rules/{id}")).send().unwrap().json().unwrap();
            panic!(
                "{seed_file}: /rules/sigma/{stem} answered {}; the rule's file stem is {}",
                by_stem.status(),
                v["file_stem"]
            );
        }
    }
}
