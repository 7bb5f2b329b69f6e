//! The linter of Sigma rules: every check beyond what the parser needs to build the model, declared once in the
//! [`registry`] (code, name, family, default severity, fix, documentation) and implemented one function per
//! check in its family's module ([`metadata`], [`detection`], [`references`]).
//!
//! Loading is `sigil_rule`'s ([`sigil_rule::load()`]); this crate plugs in as its [`LINTER`], so [`load`] here
//! is "load and lint". [`config`] reads `--select`/`--ignore` and `sigil.toml`; [`fix`] applies the safe fixes
//! checks attach to their findings, preserving the rest of each file byte for byte.

pub mod config;
pub mod context;
pub mod detection;
pub mod fix;
pub mod metadata;
pub mod references;
pub mod registry;

use std::path::PathBuf;

use sigil_diagnostics::Diagnostic;
use sigil_rule::{Limits, Linter};
pub use sigil_rule::{LoadOptions, RuleFile, RuleSet, discover, is_rule_file};

pub use config::{Config, ConfigError, Selection};
use context::{DocContext, Reporter, SetContext, SetReporter};
use registry::{REGISTRY, Run};

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
    let mut found = Vec::new();
    for (doc, node) in parsed.documents.iter().zip(&parsed.nodes) {
        let cx = DocContext::new(source, doc, node, &parsed.diagnostics);
        for check in REGISTRY {
            if let Run::Document(run) = check.run {
                run(&cx, &mut Reporter::new(check, &mut found));
            }
        }
    }
    found
}

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

/// Loads rules with the linter (see [`sigil_rule::load()`]).
pub fn load(paths: &[PathBuf], opts: &LoadOptions) -> RuleSet {
    let opts = LoadOptions { linter: Some(LINTER), ..opts.clone() };
    sigil_rule::load(paths, &opts)
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
