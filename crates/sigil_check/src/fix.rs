//! Applying fixes: `sigil check --fix` and `--diff`. Only the bytes of each fix's edits change; comments,
//! quoting, key order and line endings stay as written.

use sigil_diagnostics::{Diagnostic, Fix, apply_fixes};

use crate::Selection;

/// The outcome of fixing one text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fixed {
    /// The text with every applied fix.
    pub text: String,
    /// The fixes applied, as (code, message), in order.
    pub applied: Vec<(String, String)>,
}

/// Applies the enabled fixes to `text`, re-checking after each round until nothing more applies (a fix may
/// make another applicable; at most 4 rounds). A byte order mark is kept.
pub fn fix_text(name: &str, text: &str, selection: &Selection) -> Fixed {
    let (bom, mut current) = match text.strip_prefix('\u{feff}') {
        Some(rest) => ("\u{feff}", rest.to_string()),
        None => ("", text.to_string()),
    };
    let mut applied = Vec::new();
    for _ in 0..4 {
        let diagnostics = crate::check_text(name, &current);
        let fixes: Vec<(&Diagnostic, &Fix)> = diagnostics
            .iter()
            .filter(|d| selection.is_enabled(d.code))
            .filter_map(|d| d.fix.as_ref().map(|f| (d, f)))
            // Fixes never add or remove lines, so line numbers of the diff stay aligned.
            .filter(|(_, f)| f.edits.iter().all(|e| !e.replacement.contains(['\n', '\r'])))
            .collect();
        if fixes.is_empty() {
            break;
        }
        let (next, taken) = apply_fixes(&current, fixes.iter().map(|(_, f)| *f));
        if taken.is_empty() || next == current {
            break;
        }
        applied
            .extend(taken.iter().filter_map(|&i| fixes.get(i)).map(|(d, f)| (d.code.0.to_string(), f.message.clone())));
        current = next;
    }
    Fixed { text: format!("{bom}{current}"), applied }
}

/// A unified diff of two texts with the same number of lines (what fixes produce), `---`/`+++` headers naming
/// `path`. Empty when they are equal.
pub fn diff(path: &str, old: &str, new: &str) -> String {
    use std::fmt::Write;
    if old == new {
        return String::new();
    }
    let mut out = format!("--- {path}\n+++ {path}\n");
    let (a, b): (Vec<&str>, Vec<&str>) = (old.split_inclusive('\n').collect(), new.split_inclusive('\n').collect());
    if a.len() != b.len() {
        // Not produced by fixes; show the whole texts.
        let _ = writeln!(out, "@@ -1,{} +1,{} @@", a.len(), b.len());
        a.iter().for_each(|l| push_line(&mut out, '-', l));
        b.iter().for_each(|l| push_line(&mut out, '+', l));
        return out;
    }
    let mut i = 0;
    while i < a.len() {
        if a.get(i) == b.get(i) {
            i += 1;
            continue;
        }
        let start = i;
        while i < a.len() && a.get(i) != b.get(i) {
            i += 1;
        }
        let _ = writeln!(out, "@@ -{},{} +{},{} @@", start + 1, i - start, start + 1, i - start);
        a.get(start..i).unwrap_or(&[]).iter().for_each(|l| push_line(&mut out, '-', l));
        b.get(start..i).unwrap_or(&[]).iter().for_each(|l| push_line(&mut out, '+', l));
    }
    out
}

fn push_line(out: &mut String, sign: char, line: &str) {
    out.push(sign);
    out.push_str(line);
    if !line.ends_with('\n') {
        out.push_str("\n\\ No newline at end of file\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULE: &str = "title: t # keep this comment\r\nid: 929a690e-bef0-4204-a928-ef5e620d6fcc\r\ndate: 2020/01/02\r\n\
                        tags:\r\n    - attack.command_and_control\r\nlogsource: {product: windows}\r\n\
                        detection:\r\n    sel:\r\n        \"Image|endwith\": 'x'\r\n    condition: sel\r\n";

    #[test]
    fn fixes_only_the_offending_bytes() {
        let fixed = fix_text("r.yml", RULE, &Selection::default());
        let want = RULE
            .replace("2020/01/02", "2020-01-02")
            .replace("command_and_control", "command-and-control")
            .replace("endwith", "endswith");
        assert_eq!(fixed.text, want);
        let codes: Vec<&str> = fixed.applied.iter().map(|(c, _)| c.as_str()).collect();
        assert_eq!(codes, ["SG215", "SG209", "SG301"]);
        assert!(crate::check_text("r.yml", &fixed.text).is_empty(), "{:?}", crate::check_text("r.yml", &fixed.text));
        // Idempotent.
        assert_eq!(fix_text("r.yml", &fixed.text, &Selection::default()).applied, vec![]);
    }

    #[test]
    fn ignored_codes_are_not_fixed_and_bom_is_kept() {
        let sel = crate::Config::default().with_args(&[], &["SG215".into()]).selection().unwrap();
        let fixed = fix_text("r.yml", &format!("\u{feff}{RULE}"), &sel);
        assert!(fixed.text.starts_with("\u{feff}title"));
        assert!(fixed.text.contains("2020/01/02"));
        assert!(fixed.text.contains("endswith"));
    }

    #[test]
    fn diff_shows_changed_lines() {
        let d = diff("a.yml", "a\nb\nc\n", "a\nB\nc\n");
        assert_eq!(d, "--- a.yml\n+++ a.yml\n@@ -2,1 +2,1 @@\n-b\n+B\n");
        assert_eq!(diff("a", "x", "x"), "");
    }
}
