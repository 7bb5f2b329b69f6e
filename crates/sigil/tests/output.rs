//! Snapshots of `sigil hunt`'s output bytes: `--format jsonl` and `csv` are an interface scripts depend on, so
//! they are pinned byte for byte (the snapshots were taken before the printer moved into `sigil_printer`); the
//! table is pinned at injected widths (80, 120, 200 columns and a pipe).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Output};

fn hunt_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sigil")).current_dir(dir).arg("hunt").args(args).output().unwrap()
}

fn stdout(out: &Output) -> String {
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout.clone()).unwrap()
}

const RULE: &str = "title: Odd Values\nid: 22222222-2222-4333-8444-555555555555\nstatus: test\nlogsource:\n    \
product: windows\n    category: process_creation\ndetection:\n    sel:\n        Image|endswith: '.exe'\n    \
condition: sel\nlevel: medium\ntags:\n    - attack.execution\n    - attack.t1059\n";

/// Events with what output must survive: repeated field names, control characters, quotes and commas, non-ASCII,
/// a long value, numbers, lists and nulls, and no timestamp.
const EVENTS: &str = concat!(
    r#"{"TimeCreated":"2024-03-01T10:00:00.123Z","EventRecordID":7,"Computer":"WS-01.corp.example","Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1,"Version":3,"Image":"C:\\Windows\\System32\\cmd.exe","CommandLine":"cmd.exe /c \"echo a,b\"\r\n\tnext\u0007","User":"CORP\\Ünïcødé","Version":"15.0"}"#,
    "\n",
    r#"{"EventRecordID":8,"Computer":"WS-02","Channel":"Security","EventID":4688,"NewProcessName":"C:\\Users\\a\\AppData\\Local\\Temp\\very\\long\\path\\that\\goes\\on\\and\\on\\and\\on\\until\\it\\no\\longer\\fits\\any\\terminal\\column\\tool.exe","CommandLine":"tool.exe --flag 1","Ratio":1.5,"List":[1,null,true],"Empty":null}"#,
    "\n",
);

fn sample(dir: &Path) {
    std::fs::write(dir.join("odd.yml"), RULE).unwrap();
    std::fs::write(dir.join("events.jsonl"), EVENTS).unwrap();
}

#[test]
fn jsonl_bytes_of_the_bundled_demo_are_stable() {
    let dir = tempfile::tempdir().unwrap();
    let out = stdout(&hunt_in(dir.path(), &["--format", "jsonl", "--sort", "--quiet"]));
    insta::assert_snapshot!("bundled_jsonl", out);
}

#[test]
fn csv_bytes_of_the_bundled_demo_are_stable() {
    let dir = tempfile::tempdir().unwrap();
    let out = stdout(&hunt_in(dir.path(), &["--format", "csv", "--sort", "--quiet"]));
    insta::assert_snapshot!("bundled_csv", out);
}

#[test]
fn jsonl_and_csv_bytes_of_odd_values_are_stable() {
    let dir = tempfile::tempdir().unwrap();
    sample(dir.path());
    let jsonl = stdout(&hunt_in(dir.path(), &["events.jsonl", "--sort", "-q", "-f", "jsonl", "--rules", "odd.yml"]));
    insta::assert_snapshot!("odd_jsonl", jsonl);
    let csv = stdout(&hunt_in(dir.path(), &["events.jsonl", "--sort", "-q", "-f", "csv", "--rules", "odd.yml"]));
    insta::assert_snapshot!("odd_csv", csv);
}
