//! Recognising a rule family from files (not from names): `--rules PATH` of any family.

use std::path::Path;

use crate::Family;

/// Folders of a family checkout that hold no rules (Splunk's macros, lookups, ...).
pub(crate) const NOT_RULES: [&str; 12] = [
    "macros",
    "lookups",
    "data_sources",
    "stories",
    "baselines",
    "investigations",
    "playbooks",
    "deprecated",
    "_deprecated",
    "global_helpers",
    "data_models",
    "reference_lists",
];

/// The family of one file's text (`name` for its extension), if it is a rule of a known family.
pub fn detect_text(name: &str, text: &str) -> Option<Family> {
    let ext = Path::new(name).extension().and_then(|e| e.to_str()).unwrap_or_default().to_ascii_lowercase();
    let has_line = |prefix: &str| text.lines().any(|l| l.starts_with(prefix));
    match ext.as_str() {
        "yaral" => Some(Family::Chronicle),
        "toml" if has_line("[rule]") => Some(Family::Elastic),
        "yml" | "yaml" => {
            if has_line("AnalysisType:") {
                Some(Family::Panther)
            } else if has_line("relevantTechniques:")
                || has_line("requiredDataConnectors:")
                || (has_line("query:") && has_line("queryFrequency:"))
            {
                Some(Family::Sentinel)
            } else if has_line("search:")
                && (has_line("data_source:") || has_line("data_sources:") || has_line("tags:"))
            {
                Some(Family::Splunk)
            } else if has_line("detection:") || has_line("correlation:") || has_line("filter:") {
                Some(Family::Sigma)
            } else {
                None
            }
        }
        _ if text.contains("rule ") && text.contains("events:") && text.contains("condition:") => {
            Some(Family::Chronicle)
        }
        _ => None,
    }
}

/// The family of a file or folder: for a folder, the family most of its first rule files (at most 64, in
/// path order, outside folders known to hold no rules) are recognised as. `None` when no file is recognised.
pub fn detect(path: &Path) -> Option<Family> {
    let mut votes: Vec<(Family, usize)> = Vec::new();
    let mut seen = 0;
    let walk = walkdir::WalkDir::new(path).sort_by_file_name().into_iter().filter_entry(|e| {
        e.depth() == 0
            || !(e.file_type().is_dir()
                && e.file_name().to_str().is_some_and(|n| n.starts_with('.') || NOT_RULES.contains(&n)))
    });
    for entry in walk.filter_map(Result::ok) {
        if !entry.file_type().is_file() {
            continue;
        }
        let name = entry.file_name().to_string_lossy();
        if !["yml", "yaml", "toml", "yaral"].iter().any(|e| name.ends_with(e)) {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(entry.path()) else { continue };
        if let Some(f) = detect_text(&name, &text) {
            match votes.iter_mut().find(|(v, _)| *v == f) {
                Some((_, n)) => *n += 1,
                None => votes.push((f, 1)),
            }
            seen += 1;
            if seen >= 64 {
                break;
            }
        }
    }
    votes.into_iter().max_by_key(|(_, n)| *n).map(|(f, _)| f)
}

/// The family of one rule input (`--rules [NAME=]PATH`): recognised from the files ([`detect`]); when no file is
/// recognised, the family `name` names (`splunk=PATH`), else Sigma (whose loader then says what is wrong).
pub fn input_family(name: Option<&str>, path: &Path) -> Family {
    detect(path).or_else(|| name.and_then(Family::from_name)).unwrap_or(Family::Sigma)
}

/// How many files under `path` (a file or a folder, walked as [`detect`] walks it) are rules of `family`.
pub fn count_rule_files(path: &Path, family: Family) -> usize {
    let walk = walkdir::WalkDir::new(path).into_iter().filter_entry(|e| {
        e.depth() == 0
            || !(e.file_type().is_dir()
                && e.file_name().to_str().is_some_and(|n| n.starts_with('.') || NOT_RULES.contains(&n)))
    });
    walk.filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .filter(|e| {
            let name = e.file_name().to_string_lossy();
            ["yml", "yaml", "toml", "yaral"].iter().any(|x| name.ends_with(x))
                && std::fs::read_to_string(e.path()).is_ok_and(|t| detect_text(&name, &t) == Some(family))
        })
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_from_content() {
        assert_eq!(detect_text("a.yml", "name: x\nsearch: '| tstats count'\ndata_source: []\n"), Some(Family::Splunk));
        assert_eq!(detect_text("a.yml", "AnalysisType: rule\n"), Some(Family::Panther));
        assert_eq!(detect_text("a.yaml", "query: |\n  T\nrelevantTechniques:\n- T1\n"), Some(Family::Sentinel));
        assert_eq!(detect_text("a.toml", "[metadata]\n[rule]\nname = \"x\"\n"), Some(Family::Elastic));
        assert_eq!(detect_text("a.yml", "title: x\nlogsource: {}\ndetection:\n"), Some(Family::Sigma));
        assert_eq!(detect_text("x.txt", "rule a {\n events:\n condition:\n}"), Some(Family::Chronicle));
        assert_eq!(detect_text("a.toml", "[package]\n"), None);
        assert_eq!(detect_text("a.yml", "key: value\n"), None);
    }

    #[test]
    fn inputs_by_files_then_by_name() {
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        // The files decide, whatever the name.
        assert_eq!(input_family(Some("sigma"), &fixtures.join("elastic")), Family::Elastic);
        assert_eq!(input_family(None, &fixtures.join("sentinel/mesh_shell.yaml")), Family::Sentinel);
        // Nothing recognised (a missing path): the name, else Sigma.
        assert_eq!(input_family(Some("splunk"), &fixtures.join("nothing-here")), Family::Splunk);
        assert_eq!(input_family(Some("team"), &fixtures.join("nothing-here")), Family::Sigma);
        // Recognised, not loaded: broken.toml (bad TOML with a `[rule]` line) counts as an Elastic file.
        assert_eq!(count_rule_files(&fixtures.join("elastic"), Family::Elastic), 4);
        assert_eq!(count_rule_files(&fixtures.join("elastic"), Family::Sigma), 0);
    }
}
