//! `sigil show`, `sigil events` and `sigil stats` as users and scripts run them.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn sigil() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sigil"))
}

fn run(args: &[&str]) -> Output {
    sigil().args(args).output().unwrap_or_else(|e| panic!("running sigil: {e}"))
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

const MESH_ID: &str = "6f0c3b1e-2a4d-4c8e-9b7a-1d2e3f405162";
const MESH_TITLE: &str = "Shell Spawned by MeshAgent Remote Management Agent";

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/rules")
}

#[test]
fn show_by_id_prints_the_page_sections() {
    let o = run(&["show", MESH_ID, "--color", "never"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    let sections = ["MITRE ATT&CK coverage", "Event coverage", "Rule body yaml", "Stages and Predicates", "Indicators"];
    let mut at = 0;
    for s in sections {
        let i =
            text[at..].find(&format!("\n{s}\n")).unwrap_or_else(|| panic!("no section {s} after byte {at}:\n{text}"));
        at += i + 1;
    }
    assert!(text.contains(MESH_TITLE));
    assert!(text.contains("| Command & Control | T1219.002 Remote Access Tools: Remote Desktop Software"), "{text}");
    assert!(text.contains("| Sysmon            | Event ID 1    | Process creation"), "{text}");
    assert!(text.contains("| Security-Auditing | Event ID 4688 | A new process has been created."), "{text}");
    assert!(text.contains("Stage 1: selection"), "{text}");
    assert!(text.contains("| ParentImage | ends_with | '\\meshagent.exe'"), "{text}");
    assert!(!text.contains('\u{1b}'), "no colour when not a terminal");
}

#[test]
fn show_by_title_words_and_file_name() {
    for q in [
        MESH_TITLE,
        "shell spawned by meshagent",
        "proc_creation_win_meshagent_child_shell.yml",
        "proc_creation_win_meshagent_child_shell",
    ] {
        let o = run(&["show", q, "--format", "json"]);
        assert_eq!(o.status.code(), Some(0), "{q}: {}", stderr(&o));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(v["id"], MESH_ID, "{q}");
    }
}

#[test]
fn show_by_path_with_a_named_source() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mesh.yml");
    std::fs::copy(examples().join("proc_creation_win_meshagent_child_shell.yml"), &file).unwrap();
    let other = dir.path().join("shell.yml");
    let text = std::fs::read_to_string(examples().join("proc_creation_win_meshagent_child_shell.yml")).unwrap();
    std::fs::write(
        &other,
        text.replace(MESH_ID, "11111111-2222-4333-8444-555555555555").replace("meshagent.exe", "other.exe"),
    )
    .unwrap();
    let rules = format!("team={}", dir.path().display());
    let o = sigil().args(["show"]).arg(&file).args(["--rules", &rules, "--format", "json"]).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["source"], "team");
    assert_eq!(v["id"], MESH_ID);
    // The other file shares the Image values: counted per source.
    let cmd = v["indicators"].as_array().unwrap().iter().find(|i| i["value"] == "\\cmd.exe").unwrap();
    assert_eq!(cmd["corpus_count"], 1);
    assert_eq!(cmd["corpus_by_source"]["team"], 1);
    let mesh = v["indicators"].as_array().unwrap().iter().find(|i| i["value"] == "\\meshagent.exe").unwrap();
    assert_eq!(mesh["corpus_count"], 0);
}

#[test]
fn json_has_the_fixed_keys_in_order() {
    let o = run(&["show", MESH_ID, "--format", "json"]);
    assert_eq!(o.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    let fixed = [
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
        "indicators",
    ];
    assert_eq!(&keys[..fixed.len()], fixed);
    assert_eq!(v["source"], "bundled");
    assert_eq!(v["attack"][1]["tactic"], "Command & Control");
    assert_eq!(
        v["attack"][1]["techniques"][0],
        serde_json::json!({"id": "T1219.002", "name": "Remote Access Tools: Remote Desktop Software", "via": null, "inferred_tactic": false})
    );
    assert_eq!(v["events"][1]["provider"], "Security-Auditing");
    assert_eq!(v["events"][1]["event_id"], 4688);
    assert_eq!(v["stages"][0]["name"], "condition");
    assert_eq!(
        v["stages"][1]["text"],
        "selection:\n    ParentImage|endswith: '\\meshagent.exe'\n    Image|endswith:\n    - '\\cmd.exe'\n    - '\\powershell.exe'\n    - '\\pwsh.exe'\n"
    );
    let ind = &v["indicators"][0];
    for key in ["field", "kind", "value", "corpus_count", "corpus_by_source"] {
        assert!(ind.get(key).is_some(), "indicator key {key}");
    }
}

#[test]
fn markdown_has_the_seed_sections() {
    let o = run(&["show", MESH_ID, "--format", "markdown"]);
    assert_eq!(o.status.code(), Some(0));
    let md = stdout(&o);
    assert!(md.starts_with("Detection rules › Sigma › bundled\n\n# Shell Spawned by MeshAgent"), "{md}");
    for s in [
        "## MITRE ATT&CK coverage\n\n| Tactic | Techniques |\n|---|---|\n",
        "## Event coverage\n\n| Provider | Event | Title |",
        "## Rule body yaml\n\n```yaml\n",
        "## Stages and Predicates",
        "### Stage 1: selection",
        "| Field | Kind | Values |",
    ] {
        assert!(md.contains(s), "missing {s:?}:\n{md}");
    }
    assert!(md.contains("| Sysmon | Event ID 1 | Process creation |"));
}

#[test]
fn unknown_and_ambiguous_rules_exit_2() {
    let o = run(&["show", "no-such-rule-anywhere"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stdout(&o).is_empty());
    let err = stderr(&o);
    assert!(err.contains("no rule matches 'no-such-rule-anywhere' among 9 rules bundled with sigil"), "{err}");

    // A file with a rule and a correlation: both match its name.
    let o = run(&["show", "win_security_failed_logons_burst.yml"]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("2 documents are in this file") && err.contains("Burst of Failed Logons"), "{err}");
    let o = run(&["show", "win_security_failed_logons_burst.yml", "--all", "--format", "json"]);
    assert_eq!(o.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let pages = v.as_array().unwrap();
    assert_eq!(pages.len(), 2);
    assert_eq!(pages[1]["kind"], "correlation");
    assert_eq!(pages[1]["correlation"]["rules"][0]["title"], "Failed Logon");
    assert_eq!(pages[1]["correlation"]["group_by"], serde_json::json!(["TargetUserName"]));
    assert_eq!(pages[1]["correlation"]["timespan"], "5m");
    assert_eq!(pages[0]["correlated_by"][0]["title"], "Burst of Failed Logons for One Account");

    let o = run(&["show", "x", "--rules", "/no/such/folder"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("does not exist"), "{}", stderr(&o));
}

#[test]
fn events_lists_providers_events_and_one_event() {
    let o = run(&["events"]);
    assert_eq!(o.status.code(), Some(0));
    let text = stdout(&o);
    assert!(text.contains("| Sysmon ") && text.contains("Microsoft-Windows-Sysmon/Operational"), "{text}");

    let o = run(&["events", "sysmon", "--used"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).contains("| Event ID 1 "), "{}", stdout(&o));

    let o = run(&["events", "Sysmon", "1", "--format", "json"]);
    assert_eq!(o.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["title"], "Process creation");
    assert!(v["rule_count"].as_u64().unwrap() >= 2);
    let image = v["fields"].as_array().unwrap().iter().find(|f| f["name"] == "Image").unwrap();
    assert_eq!(image["type"], "UnicodeString");
    assert!(image["rules"].as_u64().unwrap() >= 2);
    assert!(v["rules"].as_array().unwrap().iter().any(|r| r["title"] == MESH_TITLE));

    let o = run(&["events", "Security-Auditing", "4688", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let np = v["fields"].as_array().unwrap().iter().find(|f| f["name"] == "NewProcessName").unwrap();
    assert!(np["rules"].as_u64().unwrap() >= 1, "Image maps to NewProcessName on 4688");

    let o = run(&["events", "NoSuchProvider"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("unknown provider"));
    let o = run(&["events", "Sysmon", "9999"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn stats_text_and_json() {
    let o = run(&["stats"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    for s in
        ["9 pages from bundled (9)", "By status", "By level", "By logsource", "By tactic", "Most shared indicators"]
    {
        assert!(text.contains(s), "missing {s}:\n{text}");
    }
    let o = run(&["stats", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    // One shape with /api/stats (docs/json.md): the figures at the top level, after the sources and load time.
    assert_eq!(v["sources"][0]["name"], "bundled");
    assert!(v["load_ms"].is_u64());
    assert_eq!(v["pages"], 9);
    let levels: u64 = v["by_level"].as_array().unwrap().iter().map(|c| c["count"].as_u64().unwrap()).sum();
    assert_eq!(levels, 9);
    assert!(v["top_indicators"][0]["rules"].as_u64().unwrap() >= 2);
}

/// With the SigmaHQ corpus: the seed rule by id, its events; skipped (with a message) without `../shared`.
#[test]
fn sigmahq_seed_rule_from_the_command_line() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/sigmahq");
    if !corpus.join("rules").is_dir() {
        assert!(
            std::env::var("SIGIL_REQUIRE_CORPUS").map_or(true, |v| v != "1"),
            "SIGIL_REQUIRE_CORPUS=1 but {} is missing",
            corpus.display()
        );
        eprintln!("skipping sigmahq_seed_rule_from_the_command_line: {} not found", corpus.display());
        return;
    }
    let rules = format!("sigma={}/rules*", corpus.display());
    let o = sigil()
        .args(["show", "aa3168fb-d594-4f93-a92d-7a9ba675b766", "--rules", &rules, "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["source"], "sigma");
    let events: Vec<(String, u64)> = v["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["provider"].as_str().unwrap().to_string(), e["event_id"].as_u64().unwrap()))
        .collect();
    assert_eq!(events, [("Sysmon".to_string(), 1)]);
    let cmd = v["indicators"].as_array().unwrap().iter().find(|i| i["value"] == "\\cmd.exe").unwrap();
    let n = cmd["corpus_count"].as_u64().unwrap();
    assert!(n > 10, "ParentImage ends_with \\cmd.exe is common: {n}");
    assert_eq!(cmd["corpus_by_source"], serde_json::json!({"sigma": n}));
}

#[test]
fn show_a_correlation_and_what_uses_a_rule() {
    let o = run(&["show", "Burst of Failed Logons for One Account", "--color", "never"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    for line in ["Type       event_count", "Group by   TargetUserName", "Timespan   5m", "Condition  count >= 10"] {
        assert!(out.contains(line), "{line} missing:\n{out}");
    }
    assert!(out.contains("Rule       Failed Logon ["), "{out}");
    assert!(out.contains("Generate   no: only this correlation alerts"), "{out}");
    let o = run(&["show", "Failed Logon", "--color", "never"]);
    let out = stdout(&o);
    assert!(
        out.contains("Related rules") && out.contains("- correlated by: Burst of Failed Logons for One Account ["),
        "{out}"
    );
}

#[test]
fn events_lists_record_kinds_and_shows_one() {
    let dir = tempfile::tempdir().unwrap();
    let rule = "title: Console Login Without MFA\nid: 5a0b1c2d-3e4f-4a5b-8c6d-7e8f90a1b2c3\n\
        logsource: {product: aws, service: cloudtrail}\n\
        detection:\n  sel:\n    eventName: ConsoleLogin\n    additionalEventData.MFAUsed: 'No'\n  condition: sel\n";
    std::fs::write(dir.path().join("ct.yml"), rule).unwrap();
    let rules = dir.path().to_string_lossy().into_owned();

    let o = run(&["events", "--rules", &rules, "--format", "json", "--used"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["providers"].as_array().unwrap().len(), 0, "no Windows rule: {v}");
    let kinds = v["record_kinds"].as_array().unwrap();
    assert_eq!(kinds.len(), 1, "{v}");
    assert_eq!(kinds[0]["kind"], "aws.cloudtrail");
    assert_eq!((kinds[0]["fields"].as_u64(), kinds[0]["rule_count"].as_u64()), (Some(2), Some(1)));

    let o = run(&["events", "AWS.CloudTrail", "--rules", &rules]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("Record kind aws.cloudtrail"), "{text}");
    assert!(text.contains("additionalEventData.MFAUsed") && text.contains("eventName"), "{text}");
    assert!(text.contains("1 rule(s) can fire on this record kind"), "{text}");
    assert!(text.contains("5a0b1c2d-3e4f-4a5b-8c6d-7e8f90a1b2c3  Console Login Without MFA"), "{text}");

    let o = run(&["events", "aws.cloudtrail", "--rules", &rules, "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["rule_count"], 1);
    assert_eq!(v["fields"][0]["type"], "", "no schema: {v}");

    // The rule page points at the kind instead of only saying no Windows event is described.
    let o = run(&["show", "5a0b1c2d-3e4f-4a5b-8c6d-7e8f90a1b2c3", "--rules", &rules, "--color", "never"]);
    assert!(stdout(&o).contains("Records it can fire on: aws.cloudtrail"), "{}", stdout(&o));

    let o = run(&["events", "no.such.kind", "--rules", &rules]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("record kinds: "), "{}", stderr(&o));
}

/// The catalog cache at the command line: `show --format json`, `stats --format json` and `events` print the
/// same with a fresh cache, a used cache and `--no-cache`; an edited rule shows on the next run.
#[test]
fn cached_output_equals_uncached_and_follows_edits() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    std::fs::create_dir_all(&rules).unwrap();
    for entry in std::fs::read_dir(examples()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yml") {
            std::fs::copy(&path, rules.join(path.file_name().unwrap())).unwrap();
        }
    }
    let cache = dir.path().join("cache");
    let source = format!("team={}", rules.display());
    let with_cache = |args: &[&str]| {
        let o = sigil().args(args).args(["--rules", &source]).env("SIGIL_CACHE_DIR", &cache).output().unwrap();
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
        // The load time in `stats` differs from run to run.
        without_load_ms(&String::from_utf8(o.stdout).unwrap())
    };
    let commands: [&[&str]; 3] = [&["show", MESH_ID, "--format", "json"], &["stats", "--format", "json"], &["events"]];
    for args in commands {
        let uncached = with_cache(&[args, &["--no-cache"]].concat());
        assert_eq!(with_cache(args), uncached, "{args:?}: the run that writes the cache");
        assert_eq!(with_cache(args), uncached, "{args:?}: the run that reads it");
    }
    assert_eq!(std::fs::read_dir(&cache).unwrap().count(), 1, "one cache file, no temporary file left");

    let file = rules.join("proc_creation_win_meshagent_child_shell.yml");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, text.replacen(MESH_TITLE, "Edited MeshAgent Shell", 1)).unwrap();
    let page: serde_json::Value = serde_json::from_str(&with_cache(&["show", MESH_ID, "--format", "json"])).unwrap();
    assert_eq!(page["title"], "Edited MeshAgent Shell");
    assert_eq!(
        with_cache(&["show", MESH_ID, "--format", "json"]),
        with_cache(&["show", MESH_ID, "--format", "json", "--no-cache"])
    );
}

/// The text with the `"load_ms": N` of a stats document (if any) made `"load_ms": 0`.
fn without_load_ms(text: &str) -> String {
    let Some(at) = text.find("\"load_ms\": ") else { return text.to_string() };
    let digits = text[at + 11..].chars().take_while(char::is_ascii_digit).count();
    format!("{}\"load_ms\": 0{}", &text[..at], &text[at + 11 + digits..])
}

/// Every file below `root`: (relative path, bytes), sorted by path.
fn tree(root: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for path in entries.flatten().map(|e| e.path()) {
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path.strip_prefix(root).unwrap_or(&path).to_string_lossy().replace('\\', "/");
                let body = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                out.push((rel, body));
            }
        }
    }
    out.sort();
    out
}

/// FNV-1a (64 bits): a stable digest of a file for the snapshot.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// `sigil site` writes the same files whether the catalog comes from the rules or from the cache, and the same
/// files as before its export was parallelised and its parts built on first use: the snapshot lists every file
/// with its size and digest (taken from the sequential export of the same rules).
#[test]
fn site_is_the_same_from_the_cache_and_as_before() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let source = format!("team={}", examples().display());
    let site = |name: &str, extra: &[&str]| {
        let out = dir.path().join(name);
        let o = sigil()
            .arg("site")
            .arg(&out)
            .args(["--rules", &source])
            .args(extra)
            .env("SIGIL_CACHE_DIR", &cache)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0), "{name}: {}", stderr(&o));
        tree(&out)
    };
    let fresh = site("fresh", &["--no-cache"]);
    let cold = site("cold", &[]);
    let warm = site("warm", &[]);
    assert!(std::fs::read_dir(&cache).unwrap().count() == 1, "the cold run wrote the cache");
    assert!(fresh.len() > 50, "{} files", fresh.len());
    for (name, other) in [("writing the cache", &cold), ("reading the cache", &warm)] {
        let paths = |t: &[(String, Vec<u8>)]| t.iter().map(|(p, _)| p.clone()).collect::<Vec<_>>();
        assert_eq!(paths(&fresh), paths(other), "{name}: the same files");
        for ((path, a), (_, b)) in fresh.iter().zip(other) {
            assert!(a == b, "{name}: {path} differs");
        }
    }
    let listing: String =
        fresh.iter().map(|(path, body)| format!("{path} {} {:016x}\n", body.len(), fnv1a(body))).collect();
    insta::assert_snapshot!(listing);
}
