//! The linter of Sigma rules: every check beyond what the parser needs to build the model, declared once in the
//! [`registry`] (code, name, family, default severity, fix, documentation) and implemented one function per
//! check in its family's module ([`metadata`], [`detection`], [`references`]).
//!
//! Loading is `sigil_rule`'s ([`sigil_rule::load()`]); this crate plugs in as its [`LINTER`], so [`load`] here
//! is "load and lint". [`Config`] reads `--select`/`--ignore` and `sigil.toml`; [`fix`] applies the safe fixes
//! checks attach to their findings, preserving the rest of each file byte for byte.

#![warn(missing_docs, unreachable_pub)]

mod config;
pub mod context;
mod correlation;
pub mod detection;
pub mod fix;
pub mod metadata;
pub mod references;
pub mod registry;

use std::collections::HashMap;
use std::path::PathBuf;

use sigil_diagnostics::{Diagnostic, Severity};
use sigil_rule::{Linter, LoadOptions, RuleFile, RuleSet, yaml::Limits};

pub use config::{Config, ConfigError, FILE_NAME, Selection};
use context::{DocContext, Reporter, SetContext, SetReporter};
use registry::{Check, REGISTRY, Run};

/// The linter, for [`sigil_rule::LoadOptions::linter`].
pub const LINTER: Linter = Linter { file: lint_file, set: lint_set };

/// Runs every document check on a parsed file (which must still have its YAML nodes), adding the findings to
/// `file.parsed.diagnostics` in position order.
pub fn lint_file(file: &mut RuleFile) {
    let found = lint_parsed(&file.source, &file.parsed);
    file.parsed.diagnostics.extend(found);
    file.parsed.diagnostics.sort_by_key(|d| d.position);
}

/// The findings of the document checks on one parsed file.
pub fn lint_parsed(source: &str, parsed: &sigil_rule::ParsedFile) -> Vec<Diagnostic> {
    lint_parsed_by(source, parsed, |_| true)
}

/// The findings of the document checks that `wanted` selects, in registry order per document.
fn lint_parsed_by(source: &str, parsed: &sigil_rule::ParsedFile, wanted: impl Fn(&Check) -> bool) -> Vec<Diagnostic> {
    let mut found = Vec::new();
    for (doc, node) in parsed.documents.iter().zip(&parsed.nodes) {
        let cx = DocContext::new(source, doc, node, &parsed.diagnostics);
        for check in REGISTRY.iter().filter(|c| wanted(c)) {
            if let Run::Document(run) = check.run {
                run(&cx, &mut Reporter::new(check, &mut found));
            }
        }
    }
    found
}

/// The linter of commands that run rules rather than report on them (`sigil hunt`): only the document checks
/// whose findings are errors, since an error is what stops a file's rules from running, and no check across
/// the set (those findings never stop a rule). A file gets the same errors, in the same order, as with
/// [`LINTER`]; warnings are left out. `sigil check` and the catalog keep the full [`LINTER`].
pub const RUN_LINTER: Linter = Linter { file: lint_file_errors, set: no_set_checks };

/// The document checks of [`RUN_LINTER`]: like [`lint_file`], with the error checks only.
fn lint_file_errors(file: &mut RuleFile) {
    let found = lint_parsed_by(&file.source, &file.parsed, |c| c.severity == Severity::Error);
    file.parsed.diagnostics.extend(found);
    file.parsed.diagnostics.sort_by_key(|d| d.position);
}

fn no_set_checks(_: &mut RuleSet) {}

/// Runs every check across the set, adding findings to each file's `set_diagnostics`.
pub fn lint_set(set: &mut RuleSet) {
    let mut found = Vec::new();
    {
        let cx = SetContext { files: &set.files };
        for check in REGISTRY {
            if let Run::Set(run) = check.run {
                run(&cx, &mut SetReporter::new(check, &mut found));
            }
        }
    }
    for (fi, d) in found {
        if let Some(f) = set.files.get_mut(fi) {
            f.set_diagnostics.push(d);
        }
    }
}

fn options(keep_nodes: bool) -> LoadOptions {
    LoadOptions { limits: Limits::default(), linter: Some(LINTER), keep_nodes }
}

/// A rule file left out of a set, or kept with a warning, because its id is also another file's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Duplicate {
    /// The later file.
    pub path: String,
    /// The file that has the id first.
    pub first: String,
    /// The rule `id` both files declare.
    pub id: String,
    /// Whether the later file was dropped (same text as the first: a copy of the same rule).
    pub dropped: bool,
}

impl std::fmt::Display for Duplicate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.dropped {
            write!(f, "{}: the same rule as {} (id {}); loaded once", self.path, self.first, self.id)
        } else {
            write!(
                f,
                "{}: rule id {} is also used by {}, a different rule; both are run (their detections name their file)",
                self.path, self.id, self.first
            )
        }
    }
}

/// Rule files that share an id with an earlier file of the set: a copy with the same text is dropped (its
/// detections would only double every detection of the first); a different rule under the same id is kept
/// and listed, as dropping it could lose detections. [`load`] already lists each file once.
pub fn drop_duplicates(set: &mut RuleSet) -> Vec<Duplicate> {
    let mut first: HashMap<String, usize> = HashMap::new();
    let mut found = Vec::new();
    let mut drop = vec![false; set.files.len()];
    for (fi, f) in set.files.iter().enumerate() {
        for d in &f.parsed.documents {
            let Some(id) = d.meta().id.clone() else { continue };
            match first.get(&id) {
                None => {
                    first.insert(id, fi);
                }
                Some(&other) if other != fi => {
                    let Some(o) = set.files.get(other) else { continue };
                    let same = !f.source.is_empty() && f.source.trim() == o.source.trim();
                    if let Some(slot) = drop.get_mut(fi) {
                        *slot |= same;
                    }
                    found.push(Duplicate {
                        path: f.display_path.clone(),
                        first: o.display_path.clone(),
                        id,
                        dropped: same,
                    });
                }
                Some(_) => {}
            }
        }
    }
    let mut i = 0;
    set.files.retain(|_| {
        let keep = !drop.get(i).copied().unwrap_or(false);
        i += 1;
        keep
    });
    found.dedup_by(|a, b| a.path == b.path && a.first == b.first);
    found
}

/// Adds the filter rules found under `paths` (`--filters`: exclusions kept apart from the rules) and lints the
/// set again. Documents of those files that are not filters are dropped; each such file is named in the
/// returned messages.
pub fn add_filters(set: &mut RuleSet, paths: &[PathBuf]) -> Vec<String> {
    let loaded = load(paths, &LoadOptions::default());
    let mut problems = Vec::new();
    for mut f in loaded.files {
        let before = f.parsed.documents.len();
        f.parsed.documents.retain(|d| matches!(d, sigil_rule::Document::Filter(_)));
        let dropped = before - f.parsed.documents.len();
        if dropped > 0 {
            let what = if dropped == 1 { "document that is not a filter" } else { "documents that are not filters" };
            problems.push(format!("{}: {dropped} {what} ignored (--filters takes filter rules)", f.display_path));
        }
        set.files.push(f);
    }
    for f in &mut set.files {
        f.set_diagnostics.clear();
    }
    lint_set(set);
    problems
}

/// Loads rules with the linter (see [`sigil_rule::load()`]).
pub fn load(paths: &[PathBuf], opts: &LoadOptions) -> RuleSet {
    let opts = LoadOptions { linter: Some(LINTER), ..opts.clone() };
    sigil_rule::load(paths, &opts)
}

/// Loads rules to run them (see [`RUN_LINTER`]): what makes a file an error is found as by [`load`], the
/// checks that can only warn are not run.
pub fn load_to_run(paths: &[PathBuf]) -> RuleSet {
    sigil_rule::load(paths, &LoadOptions { linter: Some(RUN_LINTER), ..LoadOptions::default() })
}

/// Parses and lints in-memory rule texts `(file name, YAML)`, checks across them included.
pub fn load_texts(texts: &[(&str, &str)]) -> RuleSet {
    sigil_rule::load_texts(texts, &options(false))
}

/// Parses and lints one text on its own (an editor buffer): parser and document checks, and the set checks
/// that make sense within one file (duplicate ids and names inside it). References to other rules are not
/// checked, since the other files are not known.
pub fn check_text(name: &str, text: &str) -> Vec<Diagnostic> {
    let mut file = RuleFile::from_text(name, text, &Limits::default());
    lint_file(&mut file);
    let mut set = RuleSet { files: vec![file] };
    let mut found = Vec::new();
    {
        let cx = SetContext { files: &set.files };
        for check in REGISTRY.iter().filter(|c| c.code.0 == "SG404" || c.code.0 == "SG405") {
            if let Run::Set(run) = check.run {
                run(&cx, &mut SetReporter::new(check, &mut found));
            }
        }
    }
    let file = set.files.swap_remove(0);
    let mut all: Vec<Diagnostic> = file.parsed.diagnostics;
    all.extend(found.into_iter().map(|(_, d)| d));
    all.sort_by_key(|d| d.position);
    all
}
