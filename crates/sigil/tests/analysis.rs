//! `sigil explain`, `sigil diff` and `sigil coverage` end to end: exit codes and JSON shapes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

fn sigil(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_sigil")).args(args).output().unwrap();
    (out.status.code().unwrap(), String::from_utf8_lossy(&out.stdout).into_owned())
}

fn repo(p: &str) -> String {
    format!("{}/../../{p}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn explain_exits_0_on_a_match_and_1_on_a_miss() {
    let rule = repo("examples/rules/proc_creation_win_whoami_system.yml");
    let events = repo("examples/events/sample.jsonl");
    let (code, out) = sigil(&["explain", &rule, &events, "--record", "3", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["record"], 3);
    assert_eq!(v["routing"]["status"], "routed");
    assert_eq!(code, if v["matched"] == true { 0 } else { 1 });
    let (code, out) = sigil(&["explain", &rule, &events, "--record", "1"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.starts_with("NO MATCH"), "{out}");
    let (code, _) = sigil(&["explain", &rule, &events, "--record", "100000"]);
    assert_eq!(code, 2);
}

#[test]
fn diff_fails_on_a_duplicate_only_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let original = std::fs::read_to_string(repo("examples/rules/proc_creation_win_whoami_system.yml")).unwrap();
    let copy = dir.path().join("copy.yml");
    let mut lines: Vec<&str> = original.lines().filter(|l| !l.starts_with("id:")).collect();
    lines.insert(1, "id: 00000000-0000-4000-8000-000000000999");
    std::fs::write(&copy, lines.join("\n")).unwrap();
    let rules = repo("examples/rules");
    let (code, out) = sigil(&["diff", copy.to_str().unwrap(), "--rules", &rules, "--format", "json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["rules"][0]["status"], "new");
    assert_eq!(v["rules"][0]["duplicates"].as_array().unwrap().len(), 1);
    let (code, _) = sigil(&["diff", copy.to_str().unwrap(), "--rules", &rules, "--fail-on-duplicate"]);
    assert_eq!(code, 1);
}

#[test]
fn coverage_reports_json() {
    let (code, out) = sigil(&["coverage", &repo("examples/events/sample.jsonl"), "--format", "json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(v["events"].as_u64().unwrap() > 0);
    assert!(v["rules"].as_array().unwrap().iter().any(|r| r["can_fire"] == true));
}

#[test]
fn coverage_of_logs_that_cannot_be_read_is_an_error_naming_them() {
    let out = Command::new(env!("CARGO_BIN_EXE_sigil"))
        .args(["coverage", "/no/such/logs", "--format", "json"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("/no/such/logs: cannot read"), "{stderr}");
    assert!(out.stdout.is_empty(), "no report of logs that were not read");
}
