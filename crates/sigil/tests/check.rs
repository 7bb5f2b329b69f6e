//! `sigil check` as scripts use it: exit codes, JSON shape, text rendering.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on bad fixtures

use std::path::Path;
use std::process::Command;

fn sigil() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sigil"))
}

fn fixtures() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../sigil_check/resources/test")
}

#[test]
fn bundled_rules_check_clean() {
    let out = sigil().arg("check").output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("0 errors, 0 warnings"), "{text}");
}

#[test]
fn errors_exit_1_with_compiler_style_text() {
    let f = fixtures().join("invalid/sg301_unknown_modifier.yml");
    let out = sigil().args(["check", "--color", "never"]).arg(&f).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    let first = text.lines().next().unwrap();
    assert!(first.ends_with("sg301_unknown_modifier.yml:12:15: error[SG301]: unknown modifier 'endwith'"), "{first}");
    assert!(text.contains("   |               ^^^^^^^\n"), "the whole modifier is underlined: {text}");
    assert!(text.contains("help: did you mean 'endswith'?"), "{text}");
    assert!(text.contains("fix (sigil check --fix): replace 'endwith' with 'endswith'"), "{text}");
    assert!(!text.contains('\u{1b}'), "no colour when not a terminal");
}

#[test]
fn json_report_has_the_documented_shape() {
    let out = sigil().args(["check", "--format", "json"]).arg(fixtures().join("invalid")).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for key in ["files", "rules", "errors", "warnings", "diagnostics"] {
        assert!(v.get(key).is_some(), "missing {key}");
    }
    let d = &v["diagnostics"][0];
    for key in ["file", "line", "column", "severity", "code", "message"] {
        assert!(d.get(key).is_some(), "diagnostic missing {key}: {d}");
    }
    assert!(v["errors"].as_u64().unwrap() >= 20);
    assert!(v["warnings"].as_u64().unwrap() >= 2);
}

#[test]
fn warnings_alone_exit_0_unless_denied() {
    let f = fixtures().join("invalid/sg307_unused_identifier.yml");
    assert_eq!(sigil().arg("check").arg(&f).status().unwrap().code(), Some(0));
    assert_eq!(sigil().args(["check", "--deny-warnings"]).arg(&f).status().unwrap().code(), Some(1));
}

#[test]
fn bad_usage_exits_2() {
    assert_eq!(sigil().args(["check", "--format", "xml"]).status().unwrap().code(), Some(2));
    assert_eq!(sigil().arg("no-such-command").status().unwrap().code(), Some(2));
}

#[test]
fn explain_lists_codes() {
    let out = sigil().args(["check", "--explain"]).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("SG301  unknown modifier"));
    assert!(text.lines().count() >= 44, "{text}");
}

#[test]
fn explain_documents_one_code_or_name() {
    let out = sigil().args(["check", "--explain", "SG215"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("SG215 old-date-form: date in the Sigma 1 form YYYY/MM/DD\n"), "{text}");
    assert!(text.contains("fix: yes") && text.contains("family: metadata"), "{text}");
    let by_name = sigil().args(["check", "--explain", "old-date-form"]).output().unwrap();
    assert_eq!(by_name.stdout, text.as_bytes());
    let out = sigil().args(["check", "--explain", "SG999"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown code"));
}

fn codes_in(json: &[u8]) -> Vec<String> {
    let v: serde_json::Value = serde_json::from_slice(json).unwrap();
    v["diagnostics"].as_array().unwrap().iter().map(|d| d["code"].as_str().unwrap().to_string()).collect()
}

#[test]
fn select_and_ignore_codes_families_and_names() {
    let dir = fixtures().join("invalid");
    let run = |args: &[&str]| sigil().args(["check", "--format", "json"]).args(args).arg(&dir).output().unwrap();
    let only = codes_in(&run(&["--select", "SG301,SG215"]).stdout);
    assert!(!only.is_empty() && only.iter().all(|c| c == "SG301" || c == "SG215"), "{only:?}");
    let no_detection = codes_in(&run(&["--ignore", "detection", "--ignore", "old-date-form"]).stdout);
    assert!(!no_detection.is_empty() && no_detection.iter().all(|c| !c.starts_with("SG3") && c != "SG215"));
    let warnings_only = run(&["--select", "SG209"]);
    assert_eq!(warnings_only.status.code(), Some(0), "ignored errors do not fail the run");
    let bad = run(&["--select", "SG9"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown code, family or check name 'SG9'"));
}

fn write_rules(dir: &Path) -> std::path::PathBuf {
    let rules = dir.join("rules");
    std::fs::create_dir_all(&rules).unwrap();
    for name in
        ["sg215_sigma1_date.yml", "sg301_unknown_modifier.yml", "sg209_old_tactic_tag.yml", "sg212_logsource_case.yml"]
    {
        std::fs::copy(fixtures().join("invalid").join(name), rules.join(name)).unwrap();
    }
    rules
}

#[test]
fn config_file_in_the_rule_repository() {
    let dir = tempfile::tempdir().unwrap();
    let rules = write_rules(dir.path());
    std::fs::write(dir.path().join("sigil.toml"), "[check]\nignore = [\"metadata\"]\n").unwrap();
    let out = sigil().args(["check", "--format", "json"]).arg(&rules).output().unwrap();
    assert_eq!(codes_in(&out.stdout), ["SG301"]);
    // Command-line --select replaces the file's select; its ignore still applies.
    let out = sigil().args(["check", "--format", "json", "--select", "SG2"]).arg(&rules).output().unwrap();
    assert_eq!(codes_in(&out.stdout), Vec::<String>::new());
    std::fs::write(dir.path().join("sigil.toml"), "[check]\nselect = 5\n").unwrap();
    let out = sigil().args(["check"]).arg(&rules).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("sigil.toml"), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn fix_rewrites_only_the_fixed_bytes_and_diff_previews() {
    let dir = tempfile::tempdir().unwrap();
    let rules = write_rules(dir.path());
    let before: Vec<(String, String)> = std::fs::read_dir(&rules)
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read_to_string(&p).unwrap())
        })
        .collect();
    let diff = sigil().args(["check", "--diff"]).arg(&rules).output().unwrap();
    assert_eq!(diff.status.code(), Some(1), "fixes to apply");
    let text = String::from_utf8(diff.stdout).unwrap();
    assert!(
        text.contains(
            "@@ -6,2 +6,2 @@\n-date: 2021/03/04\n-modified: '2022/05/06' # quoted, with a comment\n+date: 2021-03-04\n"
        ),
        "{text}"
    );
    assert!(text.contains("+        Image|endswith: '\\cmd.exe'\n"), "{text}");
    for (name, old) in &before {
        assert_eq!(&std::fs::read_to_string(rules.join(name)).unwrap(), old, "--diff writes nothing");
    }

    let fixed = sigil().args(["check", "--fix", "--format", "json"]).arg(&rules).output().unwrap();
    assert_eq!(fixed.status.code(), Some(0), "{}", String::from_utf8_lossy(&fixed.stdout));
    assert!(String::from_utf8_lossy(&fixed.stderr).contains("applied 4 fixes in 3 files"));
    assert_eq!(codes_in(&fixed.stdout), ["SG212"], "only the unfixable warning is left");
    for (name, old) in &before {
        let new = std::fs::read_to_string(rules.join(name)).unwrap();
        let want = old
            .replace("date: 2021/03/04", "date: 2021-03-04")
            .replace("modified: '2022/05/06'", "modified: '2022-05-06'")
            .replace("Image|endwith:", "Image|endswith:")
            .replace("- attack.command_and_control", "- attack.command-and-control");
        assert_eq!(new, want, "{name}");
    }
    let again = sigil().args(["check", "--diff"]).arg(&rules).output().unwrap();
    assert_eq!(again.status.code(), Some(0));
    assert!(again.stdout.is_empty());
    assert_eq!(sigil().args(["check", "--fix"]).status().unwrap().code(), Some(2), "bundled rules cannot be fixed");
}

#[test]
fn lsp_answers_over_stdio() {
    use std::io::{Read, Write};
    let mut child =
        sigil().arg("lsp").stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped()).spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let frame = |v: serde_json::Value| {
        let body = v.to_string();
        format!("Content-Length: {}\r\n\r\n{body}", body.len())
    };
    let msgs = [
        serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"capabilities": {}}}),
        serde_json::json!({"jsonrpc": "2.0", "method": "initialized", "params": {}}),
        serde_json::json!({"jsonrpc": "2.0", "id": 2, "method": "shutdown"}),
        serde_json::json!({"jsonrpc": "2.0", "method": "exit"}),
    ];
    for m in msgs {
        stdin.write_all(frame(m).as_bytes()).unwrap();
    }
    drop(stdin);
    let mut out = String::new();
    child.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(0));
    assert!(out.contains("\"hoverProvider\":true"), "{out}");
    assert!(out.contains("\"id\":2"), "shutdown answered: {out}");
}
