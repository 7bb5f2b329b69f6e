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
