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
    assert!(first.ends_with("sg301_unknown_modifier.yml:10:15: error[SG301]: unknown modifier 'endwith'"), "{first}");
    assert!(text.contains("   |               ^"), "{text}");
    assert!(text.contains("help: did you mean 'endswith'?"), "{text}");
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
}
