//! `sigil hunt` as users and scripts run it: formats, exit codes, bad input, sorting, options.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn sigil() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sigil"))
}

fn run(args: &[&str]) -> Output {
    sigil().arg("hunt").args(args).output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn write(dir: &Path, name: &str, content: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, content).unwrap();
    p
}

const RULE: &str = "title: Whoami Anywhere\nid: 11111111-2222-4333-8444-555555555555\nstatus: test\n\
logsource:\n    product: windows\n    category: process_creation\ndetection:\n    sel:\n        Image|endswith: '\\whoami.exe'\n    condition: sel\nlevel: high\n";

fn event(time: &str, id: u32, image: &str) -> String {
    let v = serde_json::json!({
        "TimeCreated": time,
        "EventRecordID": id,
        "Computer": "pc1",
        "Channel": "Microsoft-Windows-Sysmon/Operational",
        "EventID": 1,
        "Image": image,
    });
    format!("{v}\n")
}

#[test]
fn bundled_rules_on_bundled_events_detect_in_a_table() {
    let out = run(&["--color", "never"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let header = stdout.lines().next().unwrap();
    for col in ["TIME", "COMPUTER", "CHANNEL", "EVENT", "LEVEL", "RULE", "KEY FIELDS"] {
        assert!(header.contains(col), "{header}");
    }
    for rule in [
        "Shell Spawned by MeshAgent",
        "Whoami Run by the SYSTEM Account",
        "PowerShell Started With an Encoded Command",
        "Run Key Pointing Into a Temporary Folder",
        "Outbound RDP to a Public Address",
        "PowerShell Download Cradle in a Script Block",
        "Access to an Administrative Share",
        "Burst of Failed Logons for One Account",
    ] {
        assert!(stdout.contains(rule), "{rule} missing:\n{stdout}");
    }
    // The correlation's base rule raises no alert of its own (no `generate: true`).
    assert!(!stdout.contains("Failed Logon "), "{stdout}");
    assert!(stdout.contains("TargetUserName=administrator  events=10"), "{stdout}");
    assert!(!stdout.contains('\u{1b}'), "no colour when not a terminal");
    let stderr = text(&out.stderr);
    assert!(stderr.contains("1 file, 25 events, 9 detections"), "{stderr}");
    assert!(stderr.contains("by level: high 4, medium 4, low 1"), "{stderr}");
    assert!(stderr.contains("rules that detected:"), "{stderr}");
}

#[test]
fn jsonl_has_the_documented_keys() {
    let out = run(&["--format", "jsonl", "--min-level", "low"]);
    assert_eq!(out.status.code(), Some(0));
    let stdout = text(&out.stdout);
    let lines: Vec<serde_json::Value> = stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 9, "7 rules and the correlation (its informational base rule runs, silently)");
    for d in &lines {
        let obj = d.as_object().unwrap();
        let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
        // A correlation alert has the same keys plus `correlation`.
        if keys.last() == Some(&"correlation") {
            keys.pop();
        }
        assert_eq!(
            keys,
            [
                "rule_id",
                "rule_title",
                "level",
                "tags",
                "timestamp",
                "computer",
                "channel",
                "event_id",
                "record_id",
                "source",
                "event"
            ]
        );
        assert_eq!(d["source"], "bundled:sample.jsonl");
        assert!(d["event"].is_object());
        assert!(d["tags"].is_array());
    }
    let whoami = lines.iter().find(|d| d["rule_title"] == "Whoami Run by the SYSTEM Account").unwrap();
    assert_eq!(whoami["event_id"], 1);
    assert_eq!(whoami["record_id"], 1003);
    assert_eq!(whoami["computer"], "WS01.corp.example");
    assert_eq!(whoami["level"], "high");
    assert_eq!(whoami["timestamp"], "2026-11-20T08:01:13Z");
}

#[test]
fn csv_has_a_header_and_one_row_per_detection() {
    let out = run(&["--format", "csv", "--min-level", "high"]);
    assert_eq!(out.status.code(), Some(0));
    let mut r = csv::Reader::from_reader(out.stdout.as_slice());
    let headers: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(
        headers[..8],
        ["timestamp", "computer", "channel", "event_id", "record_id", "level", "rule_id", "rule_title"]
    );
    let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 4);
    assert!(rows.iter().all(|row| &row[5] == "high"));
    // The event column is the event as JSON.
    let ev: serde_json::Value = serde_json::from_str(&rows[0][11]).unwrap();
    assert!(ev.get("EventID").is_some());
}

#[test]
fn exit_codes() {
    assert_eq!(run(&["--format", "jsonl"]).status.code(), Some(0), "detections alone are not a failure");
    assert_eq!(run(&["--format", "jsonl", "--fail-on-detection"]).status.code(), Some(1));
    let dir = tempfile::tempdir().unwrap();
    let quiet = write(dir.path(), "quiet.jsonl", &event("2026-01-01T00:00:00Z", 1, "C:\\x\\notepad.exe"));
    let rules = write(dir.path(), "r.yml", RULE);
    let out = run(&[quiet.to_str().unwrap(), "--rules", rules.to_str().unwrap(), "--fail-on-detection"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let missing = dir.path().join("does-not-exist.evtx");
    let out = run(&[missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "no input could be read");
    assert!(text(&out.stderr).contains("does-not-exist.evtx"), "{}", text(&out.stderr));
    assert_eq!(run(&["--format", "yaml"]).status.code(), Some(2), "usage error");
    let out = run(&["--rules", dir.path().join("no-rules-here").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn bad_lines_are_reported_with_file_and_line_and_the_rest_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let mut content = event("2026-01-01T00:00:01Z", 1, "C:\\x\\whoami.exe");
    content.push_str("{this is not json\n");
    content.push_str("[1, 2]\n");
    content.push_str(&event("2026-01-01T00:00:02Z", 2, "C:\\y\\WHOAMI.EXE"));
    let input = write(dir.path(), "mixed.jsonl", &content);
    let rules = write(dir.path(), "r.yml", RULE);
    let out = run(&[input.to_str().unwrap(), "--rules", rules.to_str().unwrap(), "--format", "jsonl"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out.stdout).lines().count(), 2);
    let stderr = text(&out.stderr);
    assert!(stderr.contains("mixed.jsonl:2:"), "{stderr}");
    assert!(stderr.contains("mixed.jsonl:3:"), "{stderr}");
    assert!(
        stderr.contains("unreadable input: ")
            && stderr.contains(", 2 events lost")
            && stderr.contains("malformed JSON line"),
        "{stderr}"
    );
}

#[test]
fn rule_files_with_errors_are_skipped_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    write(&rules, "good.yml", RULE);
    write(
        &rules,
        "broken.yml",
        "title: broken\nlogsource: {product: windows}\ndetection: {sel: {A|nosuchmod: x}, condition: sel}\n",
    );
    let input = write(dir.path(), "e.jsonl", &event("2026-01-01T00:00:01Z", 1, "C:\\x\\whoami.exe"));
    let out = run(&[input.to_str().unwrap(), "--rules", rules.to_str().unwrap(), "--format", "jsonl"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out.stdout).lines().count(), 1);
    let stderr = text(&out.stderr);
    assert!(stderr.contains("broken.yml: skipped"), "{stderr}");
}

#[test]
fn sort_orders_detections_by_time_across_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(
        dir.path(),
        "a.jsonl",
        &[event("2026-01-01T00:00:03Z", 1, "\\whoami.exe"), event("2026-01-01T00:00:01Z", 2, "\\whoami.exe")].concat(),
    );
    let b = write(dir.path(), "b.jsonl", &event("2026-01-01T00:00:02Z", 3, "\\whoami.exe"));
    let rules = write(dir.path(), "r.yml", RULE);
    let out = run(&[
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--rules",
        rules.to_str().unwrap(),
        "--format",
        "jsonl",
        "--sort",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let ids: Vec<u64> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["record_id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, [2, 3, 1]);
}

#[test]
fn output_file_stdin_jobs_and_mapping() {
    let dir = tempfile::tempdir().unwrap();
    let rules = write(dir.path(), "r.yml", RULE);
    let out_file = dir.path().join("out.jsonl");
    let mut child = sigil()
        .args(["hunt", "-", "--rules", rules.to_str().unwrap(), "--format", "jsonl", "-j", "1", "--output"])
        .arg(&out_file)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(event("2026-01-01T00:00:01Z", 7, "\\whoami.exe").as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty());
    let written = std::fs::read_to_string(&out_file).unwrap();
    assert!(written.contains("\"record_id\":7"), "{written}");
    assert!(written.contains("\"source\":\"-\""), "{written}");

    // A mapping file routes process_creation to a custom channel where the image is called `Exe`.
    let mapping = write(
        dir.path(),
        "m.toml",
        "[[route]]\ncategory = \"process_creation\"\nchannels = [\"Custom/Log\"]\n[route.fields]\nImage = \"Exe\"\n",
    );
    let custom = write(dir.path(), "c.jsonl", "{\"Channel\": \"Custom/Log\", \"Exe\": \"C:\\\\whoami.exe\"}\n");
    let args = [custom.to_str().unwrap(), "--rules", rules.to_str().unwrap(), "--format", "jsonl"];
    assert_eq!(text(&run(&args).stdout).lines().count(), 0);
    let out = sigil().arg("hunt").args(args).arg("--mapping").arg(&mapping).output().unwrap();
    assert_eq!(text(&out.stdout).lines().count(), 1, "{}", text(&out.stderr));
}

#[test]
fn placeholders_file_resolves_expand() {
    let dir = tempfile::tempdir().unwrap();
    let rules = write(
        dir.path(),
        "p.yml",
        "title: Admin Logon\nlogsource: {product: windows, service: security}\ndetection:\n    sel:\n        EventID: 4624\n        TargetUserName|expand: '%Admins%'\n    condition: sel\nlevel: low\n",
    );
    let input = write(
        dir.path(),
        "s.jsonl",
        "{\"Channel\": \"Security\", \"EventID\": 4624, \"TargetUserName\": \"adm_bob\"}\n{\"Channel\": \"Security\", \"EventID\": 4624, \"TargetUserName\": \"alice\"}\n",
    );
    let out = run(&[input.to_str().unwrap(), "--rules", rules.to_str().unwrap(), "--format", "jsonl"]);
    assert_eq!(out.status.code(), Some(2), "the only rule has an unresolved placeholder");
    assert!(text(&out.stderr).contains("placeholder %Admins% has no value"), "{}", text(&out.stderr));
    let ph = write(dir.path(), "ph.yml", "Admins: ['adm_*', root]\n");
    let out = sigil()
        .arg("hunt")
        .args([input.to_str().unwrap(), "--rules", rules.to_str().unwrap(), "--format", "jsonl", "--placeholders"])
        .arg(&ph)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).lines().count(), 1);
}

#[test]
fn corrupt_evtx_is_reported_and_the_rest_is_read() {
    let shared =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/sigmahq-regression/regression_data");
    if !shared.is_dir() {
        assert!(std::env::var("SIGIL_REQUIRE_CORPUS").as_deref() != Ok("1"), "corpus required");
        println!("skipped: {} not found", shared.display());
        return;
    }
    let sample = shared.join(
        "rules/windows/file/file_event/file_event_win_anydesk_artefact/0b9ad457-2554-44c1-82c2-d56a99c42377.evtx",
    );
    let mut bytes = std::fs::read(&sample).unwrap();
    // Trash the second record's header and some of the first chunk's data.
    let chunk = 4096;
    for b in bytes.iter_mut().skip(chunk + 512 + 600).take(300) {
        *b = 0xAB;
    }
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.evtx");
    std::fs::write(&bad, &bytes).unwrap();
    let good = write(dir.path(), "good.jsonl", &event("2026-01-01T00:00:01Z", 1, "C:\\x\\notepad.exe"));
    let out = run(&[bad.to_str().unwrap(), good.to_str().unwrap(), "--format", "jsonl"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("bad.evtx"), "{stderr}");
    assert!(stderr.contains("unreadable input: "), "{stderr}");
    assert!(stderr.contains("2 files"), "{stderr}");
}

/// Non-Windows logs, recognised by content, each routed to its own rules only, with a host, account and
/// "channel" per source.
#[test]
fn hunts_auditd_access_logs_and_cloudtrail_with_their_own_rules() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    write(
        &rules,
        "auditd.yml",
        "title: Whoami On Linux\nid: 21111111-2222-4333-8444-555555555555\nlogsource:\n    product: linux\n    \
         category: process_creation\ndetection:\n    sel:\n        Image|endswith: '/whoami'\n    condition: sel\nlevel: low\n",
    );
    write(
        &rules,
        "web.yml",
        "title: Passwd Traversal\nid: 31111111-2222-4333-8444-555555555555\nlogsource:\n    category: webserver\n\
         detection:\n    sel:\n        cs-uri-query|contains: '/etc/passwd'\n    condition: sel\nlevel: high\n",
    );
    write(
        &rules,
        "trail.yml",
        "title: IAM User Created\nid: 41111111-2222-4333-8444-555555555555\nlogsource:\n    product: aws\n    \
         service: cloudtrail\ndetection:\n    sel:\n        eventSource: iam.amazonaws.com\n        eventName: CreateUser\n    \
         condition: sel\nlevel: medium\n",
    );
    write(
        &rules,
        "windows.yml",
        "title: Any Windows Whoami\nid: 51111111-2222-4333-8444-555555555555\nlogsource:\n    product: windows\n\
         detection:\n    keywords:\n        - whoami\n        - passwd\n        - CreateUser\n    condition: keywords\nlevel: low\n",
    );
    write(
        &rules,
        "bitbucket.yml",
        "title: Bitbucket\nid: 61111111-2222-4333-8444-555555555555\nlogsource:\n    product: bitbucket\n    \
         service: audit\ndetection:\n    sel:\n        x: y\n    condition: sel\nlevel: low\n",
    );
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    write(
        &logs,
        "audit.log",
        "type=SYSCALL msg=audit(1700000000.123:7): arch=c000003e syscall=59 success=yes auid=1000 uid=0 \
         comm=\"whoami\" exe=\"/usr/bin/whoami\"\ntype=EXECVE msg=audit(1700000000.123:7): argc=1 a0=\"whoami\"\n",
    );
    write(
        &logs,
        "access.log",
        "10.1.2.3 - - [14/Nov/2023:22:13:20 +0000] \"GET /cgi-bin/../../etc/passwd HTTP/1.1\" 404 12 \"-\" \"curl/8\"\n",
    );
    let trail = serde_json::json!({"Records": [{"eventVersion": "1.08", "eventTime": "2023-11-14T22:13:21Z",
        "eventSource": "iam.amazonaws.com", "eventName": "CreateUser", "sourceIPAddress": "198.51.100.7",
        "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/alice"}}]});
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(trail.to_string().as_bytes()).unwrap();
    std::fs::write(logs.join("111122223333_CloudTrail_x.json.gz"), gz.finish().unwrap()).unwrap();

    let out = run(&[logs.to_str().unwrap(), "--rules", rules.to_str().unwrap(), "--format", "jsonl", "--sort"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let lines: Vec<serde_json::Value> = text(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let shown: Vec<(&str, &str, &str, &str)> = lines
        .iter()
        .map(|d| {
            (
                d["rule_title"].as_str().unwrap(),
                d["kind"].as_str().unwrap_or("-"),
                d["computer"].as_str().unwrap_or("-"),
                d["channel"].as_str().unwrap_or("-"),
            )
        })
        .collect();
    assert_eq!(
        shown,
        [
            ("Passwd Traversal", "web.access", "10.1.2.3", "combined"),
            ("Whoami On Linux", "linux.auditd", "-", "SYSCALL, EXECVE"),
            ("IAM User Created", "aws.cloudtrail", "198.51.100.7", "iam.amazonaws.com"),
        ]
    );
    assert_eq!(lines[1]["account"], "1000");
    assert_eq!(lines[2]["account"], "arn:aws:iam::111122223333:user/alice");
    assert_eq!(lines[1]["timestamp"], "2023-11-14T22:13:20.123Z");
    let stderr = text(&out.stderr);
    assert!(stderr.contains("bitbucket/-/audit (1)"), "{stderr}");

    // --input-kind overrides what the content says.
    let out = run(&[
        logs.join("access.log").to_str().unwrap(),
        "--rules",
        rules.to_str().unwrap(),
        "--input-kind",
        "syslog",
        "--format",
        "jsonl",
    ]);
    // Nothing could be read: exit status 2.
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stdout).is_empty());
    assert!(text(&out.stderr).contains("access.log:1: not a syslog line"), "{}", text(&out.stderr));
    let out = run(&["--input-kind", "nonsense", logs.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("aws.cloudtrail"), "{}", text(&out.stderr));
}

/// Issue 8, item 1: 10,000 nested arrays in a JSONL line or a `.json` file used to overflow the stack and abort
/// the whole hunt. Now each is a warning for its record, and the other files' detections are still found.
#[test]
fn deep_nesting_is_a_warning_and_the_hunt_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let deep = format!("{}{}\n", "[".repeat(10_000), "]".repeat(10_000));
    let jsonl = write(dir.path(), "deep.jsonl", &format!("{deep}{}", event("2026-01-01T00:00:01Z", 1, "\\whoami.exe")));
    let json = write(dir.path(), "deep.json", &deep);
    let in_object = write(dir.path(), "obj.json", &format!("{{\"a\": {}1{}}}", "[".repeat(10_000), "]".repeat(10_000)));
    let good = write(dir.path(), "good.jsonl", &event("2026-01-01T00:00:02Z", 2, "\\whoami.exe"));
    let rules = write(dir.path(), "r.yml", RULE);
    let out = run(&[
        jsonl.to_str().unwrap(),
        json.to_str().unwrap(),
        in_object.to_str().unwrap(),
        good.to_str().unwrap(),
        "--rules",
        rules.to_str().unwrap(),
        "--format",
        "jsonl",
    ]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(text(&out.stdout).lines().count(), 2, "{stderr}");
    assert!(stderr.contains("deep.jsonl:1:"), "{stderr}");
    assert!(stderr.contains("deep.json: JSON value 0"), "{stderr}");
    assert!(stderr.contains("obj.json: JSON value 0") && stderr.contains("nested deeper"), "{stderr}");
}

/// Item 2: `-o` naming an input, or a file inside an input folder that a hunt would read back, is refused
/// (exit 2) and nothing is written.
#[test]
fn output_never_overwrites_or_feeds_an_input() {
    let dir = tempfile::tempdir().unwrap();
    let evidence = event("2026-01-01T00:00:01Z", 1, "\\whoami.exe");
    let same = write(dir.path(), "same.jsonl", &evidence);
    let rules = write(dir.path(), "r.yml", RULE);
    let r = rules.to_str().unwrap();
    let out = run(&[same.to_str().unwrap(), "--rules", r, "-o", same.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("is one of the inputs"), "{}", text(&out.stderr));
    assert_eq!(std::fs::read_to_string(&same).unwrap(), evidence, "the evidence is untouched");
    // The same file through another spelling of its path.
    let other_spelling = dir.path().join(".").join("same.jsonl");
    let out = run(&[same.to_str().unwrap(), "--rules", r, "-o", other_spelling.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));

    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    write(&logs, "e.jsonl", &evidence);
    let inside = logs.join("det.jsonl");
    let out = run(&[logs.to_str().unwrap(), "--rules", r, "-o", inside.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("inside the input folder"), "{}", text(&out.stderr));
    assert!(!inside.exists());
    // A file a hunt does not read (by its extension) may go there.
    let csv = logs.join("det.csv");
    let out = run(&[logs.to_str().unwrap(), "--rules", r, "--format", "csv", "-o", csv.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(std::fs::read_to_string(&csv).unwrap().lines().count(), 2);
    // Nor a rule file.
    let out = run(&[same.to_str().unwrap(), "--rules", r, "-o", r]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(std::fs::read_to_string(&rules).unwrap(), RULE);
}

/// Item 5: `--rules RULES EVIDENCE/` used to take EVIDENCE as a rule folder and hunt the bundled demo events.
#[test]
fn rules_never_swallow_the_evidence() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    let evidence = dir.path().join("evidence");
    std::fs::create_dir(&rules).unwrap();
    std::fs::create_dir(&evidence).unwrap();
    write(&rules, "r.yml", RULE);
    write(&evidence, "e.jsonl", &event("2026-01-01T00:00:01Z", 1, "\\whoami.exe"));
    let out = run(&["--rules", rules.to_str().unwrap(), evidence.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty(), "no demo detections: {}", text(&out.stdout));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("no Sigma rule file") && stderr.contains("put event paths first"), "{stderr}");
    // --rules with no event path is an error too, not the demo.
    let out = run(&["--rules", rules.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("no events to hunt"), "{}", text(&out.stderr));
    // NAME=PATH, as for the other commands.
    let named = format!("team={}", rules.display());
    let out = run(&[evidence.to_str().unwrap(), "--rules", &named, "--format", "jsonl"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).lines().count(), 1);
    // A folder holding no rule beside folders that do (SigmaHQ's `rules*` includes `rules-dfir`, a README
    // only) is a warning, not an error; alone, it is an error.
    let docs = dir.path().join("rules-dfir");
    std::fs::create_dir(&docs).unwrap();
    write(&docs, "README.md", "# no rules here\n");
    let out = run(&[evidence.to_str().unwrap(), "--rules", rules.to_str().unwrap(), docs.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("rules-dfir: no Sigma rule file"), "{}", text(&out.stderr));
    let out = run(&[evidence.to_str().unwrap(), "--rules", docs.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    // The demo says it is one.
    let out = run(&["--format", "jsonl"]);
    assert!(text(&out.stderr).contains("demonstration"), "{}", text(&out.stderr));
}

/// Item 6: a rule file reached twice, or copied under the same id, used to double every detection.
#[test]
fn duplicate_rules_are_loaded_once() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    std::fs::create_dir_all(rules.join("windows")).unwrap();
    std::fs::create_dir_all(dir.path().join("backup")).unwrap();
    write(&rules.join("windows"), "r.yml", RULE);
    let input = write(dir.path(), "e.jsonl", &event("2026-01-01T00:00:01Z", 1, "\\whoami.exe"));
    let sub = rules.join("windows");
    let out =
        run(&[input.to_str().unwrap(), "--rules", rules.to_str().unwrap(), sub.to_str().unwrap(), "--format", "jsonl"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).lines().count(), 1, "one file reached twice: {}", text(&out.stdout));
    // A copy of the same rule elsewhere: loaded once, with a warning.
    write(&dir.path().join("backup"), "copy.yml", RULE);
    let backup = dir.path().join("backup");
    let out = run(&[
        input.to_str().unwrap(),
        "--rules",
        rules.to_str().unwrap(),
        backup.to_str().unwrap(),
        "--format",
        "jsonl",
    ]);
    assert_eq!(text(&out.stdout).lines().count(), 1, "{}", text(&out.stdout));
    assert!(text(&out.stderr).contains("loaded once"), "{}", text(&out.stderr));
    // A different rule under the same id: both run, with a warning.
    write(&backup, "copy.yml", &RULE.replace("Whoami Anywhere", "Whoami Again"));
    let out = run(&[
        input.to_str().unwrap(),
        "--rules",
        rules.to_str().unwrap(),
        backup.to_str().unwrap(),
        "--format",
        "jsonl",
    ]);
    assert_eq!(text(&out.stdout).lines().count(), 2);
    assert!(text(&out.stderr).contains("also used by"), "{}", text(&out.stderr));
}

/// Items 7 and 10: `--jobs` is clamped with a note; hidden folders are not hunted; events no logsource can
/// select for want of a channel or provider are counted.
#[test]
fn jobs_hidden_entries_and_unselectable_events() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir_all(logs.join(".vscode")).unwrap();
    write(
        &logs.join(".vscode"),
        "settings.json",
        "{\"Channel\": \"Microsoft-Windows-Sysmon/Operational\", \"EventID\": 1, \"Image\": \"C:\\\\whoami.exe\"}",
    );
    write(
        &logs,
        "e.jsonl",
        &format!(
            "{}{{\"winlog\": {{\"channel\": \"Security\"}}, \"Image\": \"C:\\\\whoami.exe\"}}\n",
            event("2026-01-01T00:00:01Z", 1, "\\whoami.exe")
        ),
    );
    let rules = write(dir.path(), "r.yml", RULE);
    let out =
        run(&[logs.to_str().unwrap(), "--rules", rules.to_str().unwrap(), "--format", "jsonl", "--jobs", "100000"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(text(&out.stdout).lines().count(), 1, "not the hidden file: {}", text(&out.stdout));
    assert!(stderr.contains("1 file, 2 events"), "{stderr}");
    assert!(stderr.contains("--jobs 100000 is more than can help"), "{stderr}");
    assert!(stderr.contains("no Channel and no Provider_Name, which no rule's logsource can select: 1"), "{stderr}");
}

/// Item 10: a catalog command piped into `head` exits quietly.
#[test]
fn closed_pipe_is_not_an_error() {
    for cmd in [&["stats"][..], &["events"], &["show", "Whoami Run by the SYSTEM Account"]] {
        let mut child = sigil().args(cmd).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let stderr = text(&out.stderr);
        assert!(!stderr.contains("Broken pipe") && !stderr.contains("error"), "{cmd:?}: {stderr}");
        assert_eq!(out.status.code(), Some(0), "{cmd:?}: {stderr}");
    }
}

/// Item 3: a file cut in the middle of a record no longer yields that record with empty fields; the summary
/// counts the records lost.
#[test]
fn truncated_evtx_never_matches_a_partial_record() {
    let shared =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/sigmahq-regression/regression_data");
    if !shared.is_dir() {
        assert!(std::env::var("SIGIL_REQUIRE_CORPUS").as_deref() != Ok("1"), "corpus required");
        println!("skipped: {} not found", shared.display());
        return;
    }
    let sample = shared.join(
        "rules/windows/file/file_event/file_event_win_hktl_netexec_file_indicators/efc21479-9e83-41da-8cf1-122e06ba8db3.evtx",
    );
    let bytes = std::fs::read(&sample).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let whole = dir.path().join("whole.evtx");
    std::fs::write(&whole, &bytes).unwrap();
    let all = run(&[whole.to_str().unwrap(), "--format", "jsonl", "--parse-only"]);
    assert!(text(&all.stderr).contains("7 events"), "{}", text(&all.stderr));
    // Cut inside the fourth record or so: only whole records are read, the others are counted as lost.
    let free = u32::from_le_bytes(bytes[4096 + 48..4096 + 52].try_into().unwrap()) as usize;
    let cut = dir.path().join("cut.evtx");
    std::fs::write(&cut, &bytes[..4096 + 512 + (free - 512) / 2 + 3]).unwrap();
    let out = run(&[cut.to_str().unwrap(), "--format", "jsonl", "--parse-only"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("truncated inside this chunk"), "{stderr}");
    let events: u64 = stderr.split(" events,").next().and_then(|s| s.rsplit(' ').next()).unwrap().parse().unwrap();
    assert!(events < 7, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "unreadable input: 1 error, {} lost",
            if 7 - events == 1 { "1 event".to_string() } else { format!("{} events", 7 - events) }
        )),
        "{stderr}"
    );
}

#[test]
fn correlation_alerts_say_why_they_fired() {
    let out = run(&["--format", "jsonl", "--max-correlation-events", "4"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let lines: Vec<serde_json::Value> = stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let alerts: Vec<&serde_json::Value> = lines.iter().filter(|d| d.get("correlation").is_some()).collect();
    assert_eq!(alerts.len(), 1, "{stdout}");
    let c = &alerts[0]["correlation"];
    let keys: Vec<&str> = c.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        ["type", "group", "value", "condition", "timespan", "first", "last", "rules", "events", "events_left_out"]
    );
    assert_eq!(c["type"], "event_count");
    assert_eq!(c["group"], serde_json::json!({"TargetUserName": "administrator"}));
    assert_eq!(c["value"], 10);
    assert_eq!(c["condition"], "gte 10");
    assert_eq!(c["events"].as_array().unwrap().len(), 4);
    assert_eq!(c["events_left_out"], 6);
    let first = &c["events"][0];
    let ev_keys: Vec<&str> = first.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(ev_keys, ["rule_id", "timestamp", "source", "record_id"]);
    assert_eq!(first["source"], "bundled:sample.jsonl");
    assert_eq!(c["first"], first["timestamp"]);
    // The alert's own timestamp is the window's last event.
    assert_eq!(alerts[0]["timestamp"], c["last"]);

    // CSV: the group and the value in their own columns.
    let out = run(&["--format", "csv"]);
    let mut r = csv::Reader::from_reader(out.stdout.as_slice());
    let headers: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(headers[12..], ["correlation_group", "correlation_value"]);
    let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    let corr: Vec<_> = rows.iter().filter(|row| !row[12].is_empty()).collect();
    assert_eq!(corr.len(), 1);
    assert_eq!((&corr[0][12], &corr[0][13]), ("TargetUserName=administrator", "10"));
    assert!(rows.iter().filter(|row| row[12].is_empty()).all(|row| row[13].is_empty()));
}

#[test]
fn filters_are_kept_apart_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let rules = write(dir.path(), "rule.yml", RULE);
    let filters = dir.path().join("filters");
    std::fs::create_dir(&filters).unwrap();
    write(
        &filters,
        "not_tools.yml",
        "title: Not the tools folder
logsource: {product: windows, category: process_creation}
filter:
  \
         rules: [11111111-2222-4333-8444-555555555555, missing_rule]
  tools: {Image|startswith: 'C:\\Tools\\'}
  \
         condition: not tools
",
    );
    write(&filters, "not_a_filter.yml", RULE.replace("11111111", "21111111").as_str());
    let events = dir.path().join("e.jsonl");
    let mut body = String::new();
    body.push_str(&event("2026-01-01T00:00:00Z", 1, "C:\\Tools\\whoami.exe"));
    body.push_str(&event("2026-01-01T00:00:01Z", 2, "C:\\Tools\\whoami.exe"));
    body.push_str(&event("2026-01-01T00:00:02Z", 3, "C:\\Windows\\whoami.exe"));
    std::fs::write(&events, body).unwrap();
    let out = sigil()
        .args(["hunt", "--format", "jsonl", "--rules"])
        .arg(&rules)
        .arg("--filters")
        .arg(&filters)
        .arg(&events)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).lines().count(), 1, "{}", text(&out.stdout));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("filter 'Not the tools folder'"), "{stderr}");
    assert!(stderr.contains("removed 2 detections of 1 rule"), "{stderr}");
    assert!(stderr.contains("names rule 'missing_rule', which is not loaded"), "{stderr}");
    assert!(stderr.contains("not_a_filter.yml: 1 document that is not a filter ignored"), "{stderr}");
}

#[test]
fn rules_of_other_families_are_skipped_with_one_line() {
    let repo = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
    let events = repo.join("examples/events/sample.jsonl");
    let fixtures = repo.join("crates/sigil_families/tests/fixtures");
    let sigma = format!("sigma={}", repo.join("examples/rules").display());
    // A folder of Elastic rules named as Splunk: the files decide; each family counted on one line.
    let elastic = format!("splunk={}", fixtures.join("elastic").display());
    let sentinel = fixtures.join("sentinel");
    let out = run(&[events.to_str().unwrap(), "--rules", &sigma, &elastic, sentinel.to_str().unwrap()]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    let lines: Vec<&str> = err.lines().filter(|l| l.contains("--rules:")).collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(lines[0].contains("4 Elastic rules, 2 Sentinel rules not run: sigil hunt reads Sigma rules only"), "{err}");
    assert!(!err.contains("broken.toml") && !err.contains("mesh_shell"), "no error per file: {err}");
    assert!(text(&out.stdout).contains("MeshAgent"), "the Sigma rules ran");
    // Nothing but other families: an error, exit 2.
    let out = run(&[events.to_str().unwrap(), "--rules", sentinel.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("no Sigma rules to use; --rules: 2 Sentinel rules not run"),
        "{}",
        text(&out.stderr)
    );
}
