//! Snapshots of what `sigil show`, `sigil events`, `sigil stats` and `sigil hunt` print for the bundled example
//! rules and events (`cargo insta review` after an intended change). They pin the JSON shapes documented in
//! `docs/json.md` and the text and Markdown pages, so that a refactoring shows every byte it changes.

use std::process::Command;

fn sigil(args: &[&str]) -> String {
    let o = Command::new(env!("CARGO_BIN_EXE_sigil"))
        .args(args)
        .env_remove("NO_COLOR")
        .output()
        .unwrap_or_else(|e| panic!("running sigil: {e}"));
    assert_eq!(o.status.code(), Some(0), "sigil {args:?}: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).unwrap_or_else(|e| panic!("sigil {args:?}: output is not UTF-8: {e}"))
}

/// The ids of the bundled example rules, in file name order.
fn example_ids() -> Vec<(String, String)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/rules");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "yml"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|p| {
            let text = std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            let id = text
                .lines()
                .find_map(|l| l.strip_prefix("id: "))
                .unwrap_or_else(|| panic!("{}: no id line", p.display()))
                .trim()
                .to_string();
            let stem = p.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            (stem, id)
        })
        .collect()
}

#[test]
fn show_pages_of_the_example_rules() {
    let ids = example_ids();
    assert!(ids.len() >= 8, "{ids:?}");
    for (stem, id) in &ids {
        insta::assert_snapshot!(format!("show_json__{stem}"), sigil(&["show", id, "--format", "json", "--all"]));
        insta::assert_snapshot!(format!("show_text__{stem}"), sigil(&["show", id, "--all", "--color", "never"]));
        insta::assert_snapshot!(
            format!("show_markdown__{stem}"),
            sigil(&["show", id, "--format", "markdown", "--all"])
        );
    }
}

#[test]
fn events_listings() {
    insta::assert_snapshot!("events_json", sigil(&["events", "--format", "json"]));
    insta::assert_snapshot!("events_text", sigil(&["events"]));
    insta::assert_snapshot!("events_provider_json", sigil(&["events", "Sysmon", "--format", "json", "--used"]));
    insta::assert_snapshot!("events_provider_text", sigil(&["events", "Sysmon", "--used"]));
    insta::assert_snapshot!("events_event_json", sigil(&["events", "Security-Auditing", "4688", "--format", "json"]));
    insta::assert_snapshot!("events_event_text", sigil(&["events", "Security-Auditing", "4688"]));
}

#[test]
fn stats_of_the_examples() {
    let json = sigil(&["stats", "--format", "json"]);
    let mut v: serde_json::Value = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {json}"));
    // The load time is the only figure that changes from run to run.
    let Some(obj) = v.as_object_mut() else { panic!("not an object: {json}") };
    assert!(obj.get("load_ms").is_some_and(serde_json::Value::is_u64), "{json}");
    obj.insert("load_ms".into(), serde_json::Value::from(0));
    insta::assert_snapshot!("stats_json", serde_json::to_string_pretty(&v).unwrap_or_default());
}

#[test]
fn hunt_jsonl_on_the_bundled_samples() {
    let out = sigil(&["hunt", "--format", "jsonl"]);
    let mut lines: Vec<&str> = out.lines().collect();
    assert!(lines.len() >= 5, "{out}");
    for l in &lines {
        assert!(serde_json::from_str::<serde_json::Value>(l).is_ok(), "not JSON: {l}");
    }
    // Detections come from several threads: their order is not part of the interface.
    lines.sort_unstable();
    insta::assert_snapshot!("hunt_jsonl", lines.join("\n"));
}
