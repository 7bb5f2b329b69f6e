//! Loading and checking rule sets: walks files and folders, parses them in parallel, and adds the checks that
//! need the whole set (duplicate ids and names, correlation and filter references).
//!
//! [`load`] is the one way rules enter sigil: the checker, the hunting engine and the catalog all use it, so a
//! file that fails for one fails the same way for all, with the same diagnostics. Nothing is silently dropped:
//! every file found is in [`RuleSet::files`], parsed or not.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

mod correlation;

use rayon::prelude::*;
use sigil_diagnostics::{Diagnostic, FileDiagnostic, Position, Report};
use sigil_rule::{Document, Limits, ParsedFile, codes};

/// One rule file: where it is, its text, and what parsing made of it.
#[derive(Debug, Clone)]
pub struct RuleFile {
    pub path: PathBuf,
    /// The path as shown to users (as given on the command line, joined with the walked part).
    pub display_path: String,
    /// The file's text (empty when it could not be read or is not UTF-8).
    pub source: Arc<str>,
    pub parsed: ParsedFile,
    /// Diagnostics that need the whole set (duplicate ids, unknown references).
    pub set_diagnostics: Vec<Diagnostic>,
}

impl RuleFile {
    pub fn diagnostics(&self) -> impl Iterator<Item = &Diagnostic> {
        self.parsed.diagnostics.iter().chain(&self.set_diagnostics)
    }

    pub fn has_errors(&self) -> bool {
        self.diagnostics().any(Diagnostic::is_error)
    }
}

/// Every file of a load, in a stable order (sorted by path within each given root, roots in the order given).
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    pub files: Vec<RuleFile>,
}

impl RuleSet {
    /// Every document with the file it came from.
    pub fn documents(&self) -> impl Iterator<Item = (&RuleFile, &Document)> {
        self.files.iter().flat_map(|f| f.parsed.documents.iter().map(move |d| (f, d)))
    }

    /// Every diagnostic, attached to its file, ordered by file then position.
    pub fn diagnostics(&self) -> Vec<FileDiagnostic> {
        let mut out = Vec::new();
        for f in &self.files {
            let mut ds: Vec<&Diagnostic> = f.diagnostics().collect();
            ds.sort_by_key(|d| d.position);
            out.extend(ds.into_iter().map(|d| FileDiagnostic::new(f.display_path.clone(), d.clone())));
        }
        out
    }

    /// Adds the filter rules found under `paths` (`--filters`: exclusions kept apart from the rules) and checks
    /// the set again. Documents of those files that are not filters are dropped; each such file is named in the
    /// returned messages.
    pub fn add_filters(&mut self, paths: &[PathBuf]) -> Vec<String> {
        let loaded = load(paths, &LoadOptions::default());
        let mut problems = Vec::new();
        for mut f in loaded.files {
            let before = f.parsed.documents.len();
            f.parsed.documents.retain(|d| matches!(d, Document::Filter(_)));
            if f.parsed.documents.len() < before {
                problems.push(format!(
                    "{}: {} document(s) that are not filters ignored (--filters takes filter rules)",
                    f.display_path,
                    before - f.parsed.documents.len()
                ));
            }
            self.files.push(f);
        }
        for f in &mut self.files {
            f.set_diagnostics.clear();
        }
        cross_check(self);
        problems
    }

    pub fn report(&self) -> Report {
        let rules = self.files.iter().map(|f| f.parsed.documents.len()).sum();
        Report::new(self.files.len(), rules, self.diagnostics())
    }
}

/// What to load.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    pub limits: Limits,
}

/// Whether a path names a rule file by its extension.
pub fn is_rule_file(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("yml") || e.eq_ignore_ascii_case("yaml"))
}

/// Finds rule files under the given paths. A path that is a file is taken whatever its extension; folders are
/// walked recursively for `.yml`/`.yaml`, in sorted order, following no symlinks out of the tree. Paths that do
/// not exist or cannot be walked are returned as unreadable entries so they are reported, not dropped.
pub fn discover(paths: &[PathBuf]) -> Vec<(PathBuf, Result<(), String>)> {
    let mut out = Vec::new();
    for root in paths {
        if root.is_file() {
            out.push((root.clone(), Ok(())));
            continue;
        }
        if !root.exists() {
            out.push((root.clone(), Err("no such file or directory".to_string())));
            continue;
        }
        for entry in walkdir::WalkDir::new(root).sort_by_file_name() {
            match entry {
                Ok(e) if e.file_type().is_file() && is_rule_file(e.path()) => out.push((e.into_path(), Ok(()))),
                Ok(_) => {}
                Err(e) => {
                    let path = e.path().map_or_else(|| root.clone(), Path::to_path_buf);
                    out.push((path, Err(e.to_string())));
                }
            }
        }
    }
    out
}

/// Loads, parses and cross-checks every rule file under `paths`, in parallel.
pub fn load(paths: &[PathBuf], opts: &LoadOptions) -> RuleSet {
    let found = discover(paths);
    let files: Vec<RuleFile> = found.into_par_iter().map(|(path, walk)| load_file(path, walk, &opts.limits)).collect();
    let mut set = RuleSet { files };
    cross_check(&mut set);
    set
}

/// Parses in-memory rule text (bundled examples, tests) as if it were a file at `name`.
pub fn load_texts(texts: &[(&str, &str)]) -> RuleSet {
    let limits = Limits::default();
    let files = texts
        .iter()
        .map(|(name, text)| RuleFile {
            path: PathBuf::from(name),
            display_path: (*name).to_string(),
            source: Arc::from(*text),
            parsed: sigil_rule::parse_bytes(text.as_bytes(), &limits),
            set_diagnostics: vec![],
        })
        .collect();
    let mut set = RuleSet { files };
    cross_check(&mut set);
    set
}

fn load_file(path: PathBuf, walk: Result<(), String>, limits: &Limits) -> RuleFile {
    let display_path = path.display().to_string();
    let unreadable = |message: String| ParsedFile {
        documents: vec![],
        diagnostics: vec![Diagnostic::error(codes::UNREADABLE_FILE, Position::UNKNOWN, message)],
    };
    let (source, parsed) = match walk {
        Err(e) => (Arc::from(""), unreadable(format!("cannot read: {e}"))),
        Ok(()) => match read_limited(&path, limits.max_file_bytes) {
            Err(e) => (Arc::from(""), unreadable(format!("cannot read: {e}"))),
            Ok(bytes) => {
                let parsed = sigil_rule::parse_bytes(&bytes, limits);
                let text = match String::from_utf8(bytes) {
                    Ok(t) => Arc::from(t.strip_prefix('\u{feff}').unwrap_or(&t)),
                    Err(_) => Arc::from(""),
                };
                (text, parsed)
            }
        },
    };
    RuleFile { path, display_path, source, parsed, set_diagnostics: vec![] }
}

/// Reads at most `limit + 1` bytes so a huge file is rejected without being read whole.
fn read_limited(path: &Path, limit: usize) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let file = std::fs::File::open(path)?;
    let mut bytes = Vec::new();
    file.take(limit as u64 + 1).read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Duplicate ids and names; correlation and filter references to rules not in the set.
fn cross_check(set: &mut RuleSet) {
    for f in &mut set.files {
        let mut found: Vec<Diagnostic> = f.parsed.documents.iter().flat_map(attack_tags).collect();
        // A malformed tag already has its error; don't also call it unknown.
        found.retain(|a| !f.parsed.diagnostics.iter().any(|d| d.code == codes::BAD_TAG && d.position == a.position));
        // A renamed-tag finding supersedes the parser's "old tag form" warning at the same place.
        f.parsed
            .diagnostics
            .retain(|d| !(d.code == codes::OLD_TAG_FORM && found.iter().any(|a| a.position == d.position)));
        f.set_diagnostics.extend(found);
    }

    let mut ids: HashMap<String, (usize, Position)> = HashMap::new();
    let mut names: HashMap<String, (usize, Position)> = HashMap::new();
    let mut found: Vec<(usize, Diagnostic)> = Vec::new();
    for (fi, f) in set.files.iter().enumerate() {
        for d in &f.parsed.documents {
            let meta = d.meta();
            if let Some(id) = &meta.id {
                if let Some((other, pos)) = ids.get(id) {
                    let other_path = &set.files.get(*other).map_or("", |f| f.display_path.as_str());
                    found.push((
                        fi,
                        Diagnostic::error(
                            codes::DUPLICATE_ID,
                            id_pos(d),
                            format!("id '{id}' is also used by {other_path}:{}:{}", pos.line, pos.column),
                        ),
                    ));
                } else {
                    ids.insert(id.clone(), (fi, id_pos(d)));
                }
            }
            if let Some(name) = &meta.name {
                if let Some((other, pos)) = names.get(name) {
                    let other_path = &set.files.get(*other).map_or("", |f| f.display_path.as_str());
                    found.push((
                        fi,
                        Diagnostic::error(
                            codes::DUPLICATE_NAME,
                            meta.pos,
                            format!("name '{name}' is also used by {other_path}:{}:{}", pos.line, pos.column),
                        ),
                    ));
                } else {
                    names.insert(name.clone(), (fi, meta.pos));
                }
            }
        }
    }
    for (fi, f) in set.files.iter().enumerate() {
        for d in &f.parsed.documents {
            // Filters naming unloaded rules are a warning of their own (see `correlation.rs`).
            let refs = match d {
                Document::Correlation(c) => &c.correlation.rules,
                Document::Filter(_) | Document::Rule(_) => continue,
            };
            for (r, pos) in refs {
                if !ids.contains_key(r) && !names.contains_key(r) {
                    let what = if matches!(d, Document::Correlation(_)) { "correlation" } else { "filter" };
                    found.push((
                        fi,
                        Diagnostic::error(
                            codes::UNKNOWN_RULE_REFERENCE,
                            *pos,
                            format!("{what} references rule '{r}', which is not in the checked set"),
                        )
                        .with_help("reference a rule by its id or name, and check the files that define it"),
                    ));
                }
            }
        }
    }
    found.extend(correlation::check(set));
    for (fi, d) in found {
        if let Some(f) = set.files.get_mut(fi) {
            f.set_diagnostics.push(d);
        }
    }
}

fn id_pos(d: &Document) -> Position {
    d.meta().id_pos
}

/// Checks `attack.*` tags against the bundled ATT&CK release: unknown ids and names are warnings (the rule still
/// works; its coverage is just not placed), renamed, split or revoked ones say what they became.
fn attack_tags(doc: &Document) -> Vec<Diagnostic> {
    use sigil_knowledge::attack::{self, AttackTag};
    let Some(data) = attack::builtin() else { return vec![] };
    let mut out = Vec::new();
    for tag in doc.meta().tags.iter().filter(|t| t.namespace == "attack") {
        let full = tag.full();
        let (what, lookup_known, renamed): (&str, bool, Option<String>) = match data.parse_tag(&full) {
            Some(AttackTag::Tactic(l)) => ("tactic", l.is_known(), renamed_to(&l, |t| t.tag())),
            Some(AttackTag::Technique(l)) => ("technique", l.is_known(), renamed_to(&l, |t| t.tag())),
            _ => continue,
        };
        if !lookup_known {
            out.push(Diagnostic::warning(
                codes::UNKNOWN_ATTACK_TAG,
                tag.pos,
                format!("'{full}' is not an ATT&CK {what} of release {}", data.version()),
            ));
        } else if let Some(message) = renamed {
            out.push(Diagnostic::warning(codes::RENAMED_ATTACK_TAG, tag.pos, format!("'{full}' {message}")));
        }
    }
    out
}

fn renamed_to<T>(lookup: &sigil_knowledge::attack::Lookup<'_, T>, tag: impl Fn(&T) -> String) -> Option<String> {
    use sigil_knowledge::attack::Lookup;
    match lookup {
        Lookup::Crosswalk { entry, to } => {
            let new: Vec<String> = to.iter().map(|t| tag(t)).collect();
            Some(format!("is an old form ({}); use {}", entry.note, new.join(" / ")))
        }
        Lookup::Retired(entry) => Some(format!("was retired without replacement ({})", entry.note)),
        _ => None,
    }
}
