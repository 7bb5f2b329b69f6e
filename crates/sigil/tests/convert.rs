//! `sigil convert` and `sigil export` as a new user meets them: wrong paths are named, nothing is written.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Output};

fn sigil(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sigil")).args(args).output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn convert_names_a_rules_path_that_does_not_exist_or_holds_no_rule() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope");
    let out = sigil(&["convert", "--target", "duckdb", "--rules", missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("no such file or folder"), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty());
    std::fs::write(dir.path().join("events.jsonl"), "{\"EventID\": 1}\n").unwrap();
    let out = sigil(&["convert", "--target", "duckdb", "--rules", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("no Sigma rule file"), "{}", text(&out.stderr));
}

#[test]
fn export_of_a_missing_input_says_so_in_words_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let to = dir.path().join("events.parquet");
    let out = sigil(&["export", dir.path().join("nope").to_str().unwrap(), "--to", to.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("cannot read: "), "{stderr}");
    assert!(!stderr.contains("Unreadable("), "{stderr}");
    assert!(!to.exists());
}

const RULE: &str = "title: Whoami\nid: 11111111-1111-4111-8111-111111111111\nlevel: high\n\
    logsource: {product: windows, category: process_creation}\n\
    detection:\n  sel: {Image|endswith: '\\whoami.exe'}\n  condition: sel\n";
const TIME_PART: &str = "title: Night\nid: 33333333-3333-4333-8333-333333333333\n\
    logsource: {product: windows, category: process_creation}\n\
    detection:\n  sel: {UtcTime|hour|lt: 6}\n  condition: sel\n";
const PLACEHOLDER: &str = "title: Admins\nid: 22222222-2222-4222-8222-222222222222\n\
    logsource: {product: windows, category: process_creation}\n\
    detection:\n  sel: {User|expand: '%admins%'}\n  condition: sel\n";
const CLOUDTRAIL: &str = "title: Trail stopped\nid: 77777777-7777-4777-8777-777777777777\n\
    logsource: {product: aws, service: cloudtrail}\n\
    detection:\n  sel: {eventName: StopLogging}\n  condition: sel\n";

fn rules_dir(rules: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in rules {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    dir
}

#[test]
fn convert_json_lists_every_rule_with_query_or_reason() {
    let dir = rules_dir(&[("a.yml", RULE), ("t.yml", TIME_PART), ("c.yml", CLOUDTRAIL), ("p.yml", PLACEHOLDER)]);
    let out =
        sigil(&["convert", "--target", "clickhouse", "--rules", dir.path().to_str().unwrap(), "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let entries = v.as_array().unwrap();
    assert_eq!(entries.len(), 4);
    for e in entries {
        let keys: Vec<&str> = e.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, ["rule_id", "title", "path", "query", "unsupported", "notes", "renamed"]);
    }
    let by_id = |id: &str| entries.iter().find(|e| e["rule_id"] == id).unwrap();
    let whoami = by_id("11111111-1111-4111-8111-111111111111");
    assert!(whoami["query"].as_str().unwrap().contains("kind IS NULL"));
    assert_eq!(whoami["unsupported"], serde_json::Value::Null);
    assert!(whoami["renamed"].as_array().unwrap().iter().any(|r| r["event_field"] == "NewProcessName"));
    // Time parts convert (the calendar computed in the query), placeholders without a value do not.
    let night = by_id("33333333-3333-4333-8333-333333333333");
    assert!(night["query"].as_str().unwrap().contains("sg_t"), "{night}");
    let admins = by_id("22222222-2222-4222-8222-222222222222");
    assert_eq!(admins["query"], serde_json::Value::Null);
    assert!(admins["unsupported"].as_str().unwrap().contains("%admins%"), "{admins}");
    let trail = by_id("77777777-7777-4777-8777-777777777777");
    assert!(trail["query"].as_str().unwrap().contains("kind IN ('aws.cloudtrail')"), "{trail}");
    assert_eq!(trail["notes"], serde_json::json!([]));
    // The unsupported rule is also named on stderr, with the count.
    let stderr = text(&out.stderr);
    assert!(stderr.contains("p.yml") && stderr.contains("not converted"), "{stderr}");
    assert!(stderr.contains("3 of 4 rules converted for clickhouse"), "{stderr}");
}

#[test]
fn convert_single_query_json_and_sql() {
    let dir = rules_dir(&[("a.yml", RULE), ("p.yml", PLACEHOLDER)]);
    let rules = dir.path().to_str().unwrap();
    let out = sigil(&["convert", "-t", "duckdb", "-r", rules, "--single-query", "-f", "json", "--table", "ev"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["target"], "duckdb");
    let q = v["query"].as_str().unwrap();
    assert!(q.contains("FROM ev") && q.contains("sigil_rules") && q.contains("11111111-1111-4111-8111-111111111111"));
    assert!(!q.contains("22222222"), "the unsupported rule is left out of the statement");
    let unsupported = v["unsupported"].as_array().unwrap();
    assert_eq!(unsupported.len(), 1);
    assert_eq!(unsupported[0]["rule_id"], "22222222-2222-4222-8222-222222222222");
    // SQL: one statement, ended by `;`.
    let out = sigil(&["convert", "-t", "spark", "-r", rules, "--single-query"]);
    assert_eq!(out.status.code(), Some(0));
    let sql = text(&out.stdout);
    assert!(sql.starts_with("SELECT * FROM (") && sql.trim_end().ends_with(';') && sql.matches(';').count() == 1);
    // --exact-field-names: no case/space or dotted-prefix fallback (smaller), lists still read; SQL targets only.
    let exact = sigil(&["convert", "-t", "spark", "-r", rules, "--single-query", "--exact-field-names"]);
    assert_eq!(exact.status.code(), Some(0), "{}", text(&exact.stderr));
    let exact = text(&exact.stdout);
    assert!(sql.contains("exists(map_keys(fields)") && sql.contains("startswith(translate("), "{sql}");
    assert!(!exact.contains("map_keys(fields)") && !exact.contains("translate(") && exact.contains("lists"), "{exact}");
    assert!(exact.len() < sql.len());
    let out = sigil(&["convert", "-t", "splunk", "-r", rules, "--exact-field-names"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--exact-field-names is for the SQL targets"), "{}", text(&out.stderr));
}

#[test]
fn convert_exit_codes() {
    // No rule can be converted: exit 2, the reason on stderr.
    let dir = rules_dir(&[("p.yml", PLACEHOLDER)]);
    let out = sigil(&["convert", "--target", "spark", "--rules", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("no rule could be converted"), "{}", text(&out.stderr));
    // An unknown target is a usage error.
    let out = sigil(&["convert", "--target", "nosuchdb", "--rules", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("nosuchdb"));
}

#[test]
fn convert_refuses_to_overwrite_a_rule_file() {
    let dir = rules_dir(&[("a.yml", RULE)]);
    let rule = dir.path().join("a.yml");
    let out = sigil(&[
        "convert",
        "--target",
        "clickhouse",
        "--rules",
        dir.path().to_str().unwrap(),
        "--output",
        rule.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("refusing to overwrite"), "{}", text(&out.stderr));
    assert_eq!(std::fs::read_to_string(&rule).unwrap(), RULE);
    // A new file is written.
    let sql = dir.path().join("out.sql");
    let out = sigil(&[
        "convert",
        "--target",
        "clickhouse",
        "--rules",
        rule.to_str().unwrap(),
        "--output",
        sql.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let written = std::fs::read_to_string(&sql).unwrap();
    assert!(written.starts_with("-- Whoami (11111111-1111-4111-8111-111111111111)"), "{written}");
    assert!(out.stdout.is_empty());
}

#[test]
fn export_writes_the_layout_and_refuses_to_overwrite_an_input() {
    let dir = tempfile::tempdir().unwrap();
    let win = dir.path().join("win.jsonl");
    std::fs::write(&win, "{\"Channel\":\"Security\",\"EventID\":4688,\"NewProcessName\":\"C:\\\\w.exe\"}\nbroken\n")
        .unwrap();
    let trail = dir.path().join("trail.json");
    std::fs::write(
        &trail,
        r#"{"Records":[{"eventVersion":"1.08","eventSource":"cloudtrail.amazonaws.com","eventName":"StopLogging","eventTime":"2024-05-01T10:00:00Z","awsRegion":"eu-west-1"}]}"#,
    )
    .unwrap();
    let to = dir.path().join("out.jsonl");
    let out = sigil(&["export", win.to_str().unwrap(), trail.to_str().unwrap(), "--to", to.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("win.jsonl") && stderr.contains("warning"), "the broken line is named: {stderr}");
    assert!(stderr.contains("exported 2 events from 2 file(s)"), "{stderr}");
    let rows: Vec<serde_json::Value> =
        std::fs::read_to_string(&to).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["kind"], serde_json::Value::Null);
    assert_eq!(rows[0]["event_id"], 4688);
    assert_eq!(rows[1]["kind"], "aws.cloudtrail");
    assert_eq!(rows[1]["fields"]["eventName"], "StopLogging");
    assert_eq!(rows[1]["event_index"], 1);
    // The output is one of the inputs: exit 2, the input unchanged.
    let before = std::fs::read(&win).unwrap();
    let out = sigil(&["export", win.to_str().unwrap(), "--to", win.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("refusing to overwrite"), "{}", text(&out.stderr));
    assert_eq!(std::fs::read(&win).unwrap(), before);
    // A folder input holding the output: refused too.
    let inside = dir.path().join("again.jsonl");
    std::fs::copy(&to, &inside).unwrap();
    let out = sigil(&["export", dir.path().to_str().unwrap(), "--to", inside.to_str().unwrap(), "--quiet"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    // Neither .parquet nor .jsonl: exit 2, nothing written.
    let csv = dir.path().join("out.csv");
    let out = sigil(&["export", win.to_str().unwrap(), "--to", csv.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!csv.exists());
    // --quiet: no summary.
    let pq = dir.path().join("out.parquet");
    let out = sigil(&["export", trail.to_str().unwrap(), "--to", pq.to_str().unwrap(), "--quiet"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
    assert!(std::fs::read(&pq).unwrap().starts_with(b"PAR1"));
}

#[test]
fn convert_takes_sigma_named_rules_and_skips_other_families() {
    let repo = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let sigma = format!("sigma={repo}/examples/rules/proc_creation_win_whoami_system.yml");
    let elastic = format!("{repo}/crates/sigil_families/tests/fixtures/elastic");
    let out = sigil(&["convert", "--target", "duckdb", "--rules", &sigma, &elastic]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("--rules: 4 Elastic rules not converted: sigil convert reads Sigma rules only"), "{err}");
    assert!(err.contains("1 of 1 rules converted"), "{err}");
    assert!(text(&out.stdout).contains("whoami"), "{}", text(&out.stdout));
    let out = sigil(&["convert", "--target", "duckdb", "--rules", &elastic]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("no Sigma rules to use"), "{}", text(&out.stderr));
}
