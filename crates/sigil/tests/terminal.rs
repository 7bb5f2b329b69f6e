//! The terminal experience: the table at injected widths, the summary, `--help` of every subcommand, shell
//! completions and man pages, and the progress line in a real pseudo-terminal.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Output};

fn sigil() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_sigil"));
    c.env_remove("COLUMNS").env("NO_COLOR", "1");
    c
}

fn ok(out: &Output) -> String {
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout.clone()).unwrap()
}

const RULE: &str = "title: Odd Values With a Rather Long Rule Title That Needs Cutting\nid: 22222222-2222-4333-8444-555555555555\n\
status: test\nlogsource:\n    product: windows\n    category: process_creation\ndetection:\n    sel:\n        \
Image|endswith: '.exe'\n        CommandLine|contains: '.exe'\n    condition: sel\nlevel: medium\ntags:\n    - attack.execution\n    - attack.t1059\n";

const EVENTS: &str = concat!(
    r#"{"TimeCreated":"2024-03-01T10:00:00.123Z","EventRecordID":7,"Computer":"WS-01.corp.example","Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1,"Image":"C:\\Windows\\System32\\cmd.exe","CommandLine":"cmd.exe /c \"echo a,b\"\r\n\tnext\u001b[31m","User":"CORP\\Ünïcødé"}"#,
    "\n",
    r#"{"TimeCreated":"2024-03-02T23:30:00Z","EventRecordID":8,"Computer":"WS-02","Channel":"Security","EventID":4688,"NewProcessName":"C:\\Users\\a\\AppData\\Local\\Temp\\very\\long\\path\\that\\goes\\on\\and\\on\\and\\on\\until\\it\\no\\longer\\fits\\any\\terminal\\column\\tool.exe","CommandLine":"tool.exe --flag 1"}"#,
    "\n",
);

fn sample(dir: &Path) {
    std::fs::write(dir.join("odd.yml"), RULE).unwrap();
    std::fs::write(dir.join("events.jsonl"), EVENTS).unwrap();
}

fn hunt(dir: &Path, args: &[&str]) -> Output {
    sigil().current_dir(dir).args(["hunt", "events.jsonl", "--sort", "--rules", "odd.yml"]).args(args).output().unwrap()
}

#[test]
fn table_fits_80_120_and_200_columns() {
    let dir = tempfile::tempdir().unwrap();
    sample(dir.path());
    for width in [80, 120, 200] {
        let out = ok(&hunt(dir.path(), &["-q", "--width", &width.to_string()]));
        for line in out.lines() {
            assert!(line.chars().count() <= width, "{width}: {line}");
            assert!(!line.contains('\u{1b}') && !line.contains('\r'), "{width}: control characters: {line:?}");
        }
        insta::assert_snapshot!(format!("table_{width}"), out);
    }
}

#[test]
fn full_table_shows_every_value_whole_within_the_width() {
    let dir = tempfile::tempdir().unwrap();
    sample(dir.path());
    let out = ok(&hunt(dir.path(), &["-q", "--width", "100", "--full"]));
    assert!(out.lines().all(|l| l.chars().count() <= 100), "{out}");
    let joined: String = out.lines().map(str::trim_end).collect::<Vec<_>>().join("");
    assert!(!out.contains('…'), "{out}");
    for part in ["until\\it\\no\\longer", "tool.exe"] {
        assert!(joined.replace(' ', "").contains(part), "{part}: {out}");
    }
    insta::assert_snapshot!("table_full_100", out);
}

#[test]
fn piped_table_is_one_line_per_detection_with_values_whole_and_escaped() {
    let dir = tempfile::tempdir().unwrap();
    sample(dir.path());
    let out = ok(&hunt(dir.path(), &["-q", "--timezone", "+02:00"]));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(lines[0].starts_with("TIME (+02:00)"), "{out}");
    // Times in the zone asked for; the second event crosses midnight.
    assert!(lines[1].starts_with("2024-03-01 12:00:00"), "{out}");
    assert!(lines[2].starts_with("2024-03-03 01:30:00"), "{out}");
    assert!(lines[1].contains("\\r\\n\\tnext\\x1b[31m"), "{out}");
    assert!(lines[2].contains("column\\tool.exe"), "{out}");
    assert!(!out.contains('…'));
}

#[test]
fn time_window_leaves_events_out_and_counts_them() {
    let dir = tempfile::tempdir().unwrap();
    sample(dir.path());
    let out = hunt(dir.path(), &["--from", "2024-03-02", "--format", "jsonl"]);
    let stdout = ok(&out);
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(stdout.contains("\"record_id\":8"), "{stdout}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("outside --from/--to (not matched): 1 event"), "{stderr}");
    let out = ok(&hunt(dir.path(), &["--to", "2024-03-01T10:00:00.123Z", "--format", "jsonl", "-q"]));
    assert_eq!(out, "", "--to is exclusive");
    let bad = hunt(dir.path(), &["--from", "2024-03-02", "--to", "2024-03-01"]);
    assert_eq!(bad.status.code(), Some(2));
    let bad = hunt(dir.path(), &["--from", "yesterday"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("RFC 3339"));
}

#[test]
fn summary_as_text_and_as_json() {
    let dir = tempfile::tempdir().unwrap();
    sample(dir.path());
    let text = ok(&hunt(dir.path(), &["--summary-only"]));
    assert!(text.starts_with("hunt: 1 file, 2 events, 2 detections in "), "{text}");
    assert!(text.contains("events from 2024-03-01T10:00:00.123Z to 2024-03-02T23:30:00Z"), "{text}");
    assert!(text.contains("by level: medium 2"), "{text}");
    assert!(text.contains("ATT&CK tactics: execution 2"), "{text}");
    assert!(text.contains("WS-02 (1 event)"), "{text}");
    let json: serde_json::Value = serde_json::from_str(&ok(&hunt(dir.path(), &["--format", "json"]))).unwrap();
    assert_eq!(json["files"], 1);
    assert_eq!(json["events"], 2);
    assert_eq!(json["detections"], 2);
    assert_eq!(json["by_level"]["medium"], 2);
    assert_eq!(json["first_event"], "2024-03-01T10:00:00.123Z");
    assert_eq!(json["top_rules"][0]["detections"], 2);
    assert_eq!(json["tactics"][0]["tactic"], "execution");
    assert_eq!(json["computers"].as_array().map(Vec::len), Some(2));
}

#[test]
fn skipped_rules_are_totalled_once_and_listed_with_verbose() {
    let dir = tempfile::tempdir().unwrap();
    sample(dir.path());
    for (i, m) in ["nosuchmod", "othermod", "thirdmod", "fourthmod"].iter().enumerate() {
        let rule = RULE.replace("Image|endswith", &format!("Image|{m}")).replace("8444", &format!("844{i}"));
        std::fs::write(dir.path().join(format!("bad{i}.yml")), rule).unwrap();
    }
    let out = sigil().current_dir(dir.path()).args(["hunt", "events.jsonl", "--rules", "."]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.matches("warning:").count(), 1, "{stderr}");
    assert!(stderr.contains("4 rules skipped"), "{stderr}");
    assert!(stderr.contains("4 rules not run"), "{stderr}");
    let verbose =
        sigil().current_dir(dir.path()).args(["hunt", "events.jsonl", "--rules", ".", "-v"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&verbose.stderr);
    for i in 0..4 {
        assert!(stderr.contains(&format!("bad{i}.yml")), "{stderr}");
    }
}

const SUBCOMMANDS: [&str; 12] =
    ["check", "hunt", "show", "events", "stats", "serve", "site", "lsp", "export", "convert", "completions", "man"];

#[test]
fn help_of_every_subcommand() {
    let top = ok(&sigil().arg("--help").output().unwrap());
    // The list of what sigil does stays a list.
    assert!(top.contains("\n  * checks them like a compiler:"), "{top}");
    insta::assert_snapshot!("help", top);
    for sub in SUBCOMMANDS {
        let help = ok(&sigil().args([sub, "--help"]).output().unwrap());
        assert!(help.contains("Examples:\n  sigil "), "{sub}: no examples\n{help}");
        // No line of prose is cut mid-sentence and re-wrapped: every line fits clap's width.
        assert!(help.lines().all(|l| l.chars().count() <= 100), "{sub}\n{help}");
        let via_help = ok(&sigil().args(["help", sub]).output().unwrap());
        assert_eq!(help, via_help, "sigil help {sub} differs from sigil {sub} --help");
        insta::assert_snapshot!(format!("help_{sub}"), help);
    }
}

#[test]
fn completions_and_man_pages_generate() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let script = ok(&sigil().args(["completions", shell]).output().unwrap());
        for word in ["hunt", "min-level", "timezone"] {
            assert!(script.contains(word), "{shell}: {word}");
        }
    }
    let man = ok(&sigil().arg("man").output().unwrap());
    assert!(man.starts_with(".ie \\n(.g") || man.contains(".TH sigil"), "{man}");
    assert!(man.contains("hunt"));
    let hunt = ok(&sigil().args(["man", "hunt"]).output().unwrap());
    assert!(hunt.contains(".TH sigil-hunt") && hunt.contains("\\-\\-from"), "{hunt}");
    let bad = sigil().args(["man", "nope"]).output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
}

/// `sigil hunt` in a pseudo-terminal: the progress line's counters never go down, and it is cleared at the end.
#[cfg(unix)]
#[test]
fn progress_in_a_terminal_only_goes_up_and_is_cleared() {
    use std::io::Read as _;
    let dir = tempfile::tempdir().unwrap();
    // Enough events over several files and batches for several progress updates from several threads.
    let mut line = String::new();
    for i in 0..4000 {
        line.push_str(&format!(
            "{{\"TimeCreated\":\"2024-03-01T10:00:00Z\",\"EventRecordID\":{i},\"Computer\":\"pc{}\",\"Channel\":\"Microsoft-Windows-Sysmon/Operational\",\"EventID\":1,\"Image\":\"C:\\\\x\\\\{}.exe\",\"Pad\":\"{}\"}}\n",
            i % 7,
            i,
            "x".repeat(400)
        ));
    }
    for f in 0..6 {
        std::fs::write(dir.path().join(format!("e{f}.jsonl")), &line).unwrap();
    }
    let bin = env!("CARGO_BIN_EXE_sigil");
    let out = tempfile::tempdir().unwrap();
    let cmd = format!(
        "{bin} hunt {} --rules {} --format jsonl --output {} --jobs 4 --color never",
        dir.path().display(),
        out.path().join("odd.yml").display(),
        out.path().join("d.jsonl").display()
    );
    std::fs::write(out.path().join("odd.yml"), RULE).unwrap();
    let mut p = expectrl::spawn(cmd).unwrap();
    let mut all = Vec::new();
    let _ = p.read_to_end(&mut all);
    let text = String::from_utf8_lossy(&all).into_owned();
    // Every drawn state of the line, in order.
    let states: Vec<(u64, u64)> = text
        .split(['\r', '\n'])
        .filter_map(|s| {
            let s = s.split("hunting: ").nth(1)?;
            let num = |after: &str| -> Option<u64> {
                let head = s.split(after).next()?;
                head.rsplit([' ', ',']).next()?.parse().ok()
            };
            Some((num(" event")?, num(" detection")?))
        })
        .collect();
    assert!(!states.is_empty(), "no progress line drawn:\n{text}");
    for w in states.windows(2) {
        assert!(w[1].0 >= w[0].0 && w[1].1 >= w[0].1, "went down: {:?} -> {:?}\n{text}", w[0], w[1]);
    }
    // Cleared: after the last drawn state comes the erase sequence, and the summary starts on a clean line.
    let last_draw = text.rfind("hunting: ").unwrap();
    let after = &text[last_draw..];
    assert!(after.contains("\u{1b}[2K") || after.contains("\u{1b}[K"), "not cleared:\n{after:?}");
    let summary = text.find("hunt: ").unwrap();
    assert!(summary > last_draw, "{text}");
    assert!(text[summary..].contains("24000 events"), "{text}");
}
